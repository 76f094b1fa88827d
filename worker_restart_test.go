package mode_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// restartRoot is a root whose hooks a case sets up: its OnStart can fail or
// hang from a given start on, its OnRestart can fail.
type restartRoot struct {
	r23Svc
	starts    atomic.Int32
	failFrom  int32 // OnStart fails from this start on (0: never)
	hangFrom  int32 // OnStart waits for its ctx from this start on (0: never)
	restartOK bool  // OnRestart returns nil (else an error), when set up
	hasOnRest bool
	startedCh chan int      // each completed start's RestartCount
	hanging   chan struct{} // told when OnStart begins to hang
}

func (s *restartRoot) OnStart(ctx context.Context) error {
	n := s.starts.Add(1)
	switch {
	case s.failFrom > 0 && n >= s.failFrom:
		return errors.New("no database")
	case s.hangFrom > 0 && n >= s.hangFrom:
		s.hanging <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	return s.r23Svc.OnStart(ctx)
}

func (s *restartRoot) OnStarted(context.Context) error {
	s.startedCh <- s.RestartCount()
	return nil
}

// restartingRoot is a restartRoot with an OnRestart hook.
type restartingRoot struct{ restartRoot }

func (s *restartingRoot) OnRestart(context.Context) error {
	if s.restartOK {
		return nil
	}
	return errors.New("cannot reset")
}

// TestWorkerRootRestart: the root's own Restart, from outside or from its
// own task, is not the end of the Worker's run: the Worker goes on with the
// restarted tree (and stops it when asked); a Restart that does not start
// the root again ends the run as a crash (ExitFailure); a stop asked while
// the restart hangs is bounded as any stop.
func TestWorkerRootRestart(t *testing.T) {
	type root interface {
		service.Service
		started() chan int
	}
	cases := []struct {
		name     string
		fromTask bool
		restarts int // restarts asked, one after another
		failFrom int32
		hangFrom int32
		onRest   *bool    // OnRestart's outcome (nil: no OnRestart)
		wantCode int      // Run's exit code once the test cancels (or the restart fails)
		wantText []string // Run's error says one of these
		stopped  bool     // the run ends without the test cancelling it
	}{
		{name: "from outside", restarts: 1, wantCode: mode.ExitOK},
		{name: "from outside, three times", restarts: 3, wantCode: mode.ExitOK},
		{name: "from its task", fromTask: true, restarts: 1, wantCode: mode.ExitOK},
		{name: "OnRestart passes", restarts: 1, onRest: ptr(true), wantCode: mode.ExitOK},
		{name: "the start fails", restarts: 1, failFrom: 2, wantCode: mode.ExitFailure, wantText: []string{"no database", "a Restart left it init"}, stopped: true},
		{name: "OnRestart fails", restarts: 1, onRest: ptr(false), wantCode: mode.ExitFailure, wantText: []string{"cannot reset", "a Restart left it shutdown"}, stopped: true},
		{name: "stopped while the start hangs", restarts: 1, hangFrom: 2, wantCode: mode.ExitOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rr := restartRoot{failFrom: tc.failFrom, hangFrom: tc.hangFrom, startedCh: make(chan int, 8), hanging: make(chan struct{}, 8)}
			rr.Configure(service.Config{Name: "root", Logger: &r23Nop})
			var svc service.Service = &rr
			var base *restartRoot = &rr
			if tc.onRest != nil {
				x := &restartingRoot{restartRoot: restartRoot{restartOK: *tc.onRest, startedCh: make(chan int, 8)}}
				x.Configure(service.Config{Name: "root", Logger: &r23Nop})
				svc, base = x, &x.restartRoot
			}
			var asked atomic.Bool
			if tc.fromTask {
				base.task = func(ctx context.Context) error {
					if asked.CompareAndSwap(false, true) {
						if err := svc.(interface {
							WaitStarted(context.Context) error
						}).WaitStarted(ctx); err != nil {
							return err
						}
						if err := svc.Restart(ctx); err != nil { // begins at once, goes on on its own
							return err
						}
					}
					<-ctx.Done()
					return nil
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dbg := zerolog.New(zerolog.NewTestWriter(t))
			w := &mode.Worker{Service: svc, Logger: &dbg, StopTimeout: 2 * time.Second}
			wait := r23Run(t, w, ctx)
			if n := recvInt(t, base.startedCh); n != 0 {
				t.Fatalf("first start: restart count %d", n)
			}
			for i := 1; i <= tc.restarts; i++ {
				var rerr chan error
				if !tc.fromTask {
					rerr = make(chan error, 1)
					go func() { rerr <- svc.Restart(context.Background()) }()
				}
				if tc.failFrom > 0 || tc.onRest != nil && !*tc.onRest {
					break // no start completes: Run ends on its own
				}
				if tc.hangFrom > 0 {
					// Wait until the restart's start hangs, then stop.
					select {
					case <-base.hanging:
					case <-time.After(waitLimit):
						t.Fatal("the restart's start did not begin")
					}
					cancel()
					if err := <-rerr; !errors.Is(err, service.ErrStopped) && !errors.Is(err, context.Canceled) {
						t.Errorf("Restart stopped during its start: %v", err)
					}
					break
				}
				if n := recvInt(t, base.startedCh); n != i {
					t.Fatalf("restart %d: restart count %d", i, n)
				}
				if rerr != nil {
					if err := <-rerr; err != nil {
						t.Fatalf("restart %d: %v", i, err)
					}
				}
				if err := svc.(interface {
					WaitStarted(context.Context) error
				}).WaitStarted(testCtx(t)); err != nil { // OnStarted runs before Running
					t.Fatalf("after restart %d: %v", i, err)
				}
				if st := svc.State(); st != service.Running {
					t.Fatalf("after restart %d the root is %v: the Worker stopped it", i, st)
				}
			}
			if !tc.stopped {
				cancel()
			}
			err := wait(10 * time.Second)
			if code := mode.ExitCode(err); code != tc.wantCode {
				t.Fatalf("Run: %v (code %d), want code %d", err, code, tc.wantCode)
			}
			// The restart's own error when the Worker saw it end; what it
			// left when it was over before the Worker looked.
			if tc.wantText != nil && (err == nil || !slices.ContainsFunc(tc.wantText, func(s string) bool { return strings.Contains(err.Error(), s) })) {
				t.Fatalf("Run: %v, want it to say one of %q", err, tc.wantText)
			}
			if st := svc.State(); st == service.Running || st == service.Starting || st == service.Stopping {
				t.Fatalf("after Run the root is %v", st)
			}
		})
	}
}

// TestWorkerSupervisorRootRestart: a supervisor at the root restarted by
// hand restarts its children, and the Worker goes on running it.
func TestWorkerSupervisorRootRestart(t *testing.T) {
	entered := make(chan int, 4)
	var child *service.FuncService
	child = service.Func("leaf", func(ctx context.Context) error {
		entered <- child.RestartCount()
		<-ctx.Done()
		return nil
	})
	child.Configure(service.Config{Logger: &r23Nop})
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root", Logger: &r23Nop}})
	if err := sup.Add(context.Background(), child, supervisor.ChildSpec{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := r23Run(t, &mode.Worker{Service: sup, Logger: &r23Nop, StopTimeout: 2 * time.Second}, ctx)
	if n := recvInt(t, entered); n != 0 {
		t.Fatalf("first run: restart count %d", n)
	}
	if err := sup.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := recvInt(t, entered); n != 1 {
		t.Fatalf("after the root's restart: restart count %d", n)
	}
	if st := sup.State(); st != service.Running {
		t.Fatalf("the Worker stopped the restarted root: %v", st)
	}
	cancel()
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := child.State(); st != service.Shutdown {
		t.Fatalf("child after Run: %v", st)
	}
}

func ptr[T any](v T) *T { return &v }

// recvInt receives from ch within waitLimit (a generous bound, not a
// synchronisation).
func recvInt(t *testing.T, ch chan int) int {
	t.Helper()
	select {
	case n := <-ch:
		return n
	case <-time.After(waitLimit):
		t.Fatal("nothing received")
		return 0
	}
}
