package mode_test

// Review 26: a hostile review of the Worker's handling of its root's own
// Restart (runner.wait, service.Restarting): a Restart that hangs, one
// raced by a stop, a second Restart, a crash of the restarted run, a
// Restart from inside Ready.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// r26Svc is an r23Svc counting its starts, with an OnRestart hook.
type r26Svc struct {
	r23Svc
	starts    atomic.Int32
	onRestart func(ctx context.Context) error
	// second, if set, is OnStart from the second start on.
	second func(ctx context.Context) error
}

func (s *r26Svc) OnStart(ctx context.Context) error {
	if s.starts.Add(1) >= 2 && s.second != nil {
		return s.second(ctx)
	}
	return s.r23Svc.OnStart(ctx)
}

func (s *r26Svc) OnRestart(ctx context.Context) error { return call(s.onRestart, ctx) }

func newR26() *r26Svc {
	s := &r26Svc{}
	s.Configure(service.Config{Name: "root", Logger: &r23Nop})
	return s
}

// TestReview26RootRestartHostile: the root's Restart against the Worker's
// other stimuli. Run must stay bounded by StopTimeout once asked to stop,
// whatever the restart is doing, and must never leave the root running.
func TestReview26RootRestartHostile(t *testing.T) {
	const stopTimeout = 300 * time.Millisecond
	cases := []struct {
		name  string
		setup func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release)
		// abandons: the stop abandons a hung Restart, which the test then
		// releases: it must not start the root again after Run returned.
		abandons bool
		mayRun   bool // the root may run after Run: a Restart came after its stop
		// codes are the exit codes accepted.
		codes []int
		text  string // Run's error says it (if set)
	}{
		{
			// OnRestart ignores its ctx: the stop asked meanwhile is
			// bounded, the code is a stop timeout.
			name: "OnRestart hangs, then a stop",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				in := make(chan struct{})
				s.onRestart = func(context.Context) error { close(in); <-release.ch; return nil }
				go func() { restarted <- s.Restart(context.Background()) }()
				recv(t, in)
				cancel()
			},
			codes:    []int{mode.ExitStopTimeout},
			abandons: true,
		},
		{
			name: "the restart's start hangs ignoring ctx, then a stop",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				in := make(chan struct{})
				s.second = func(context.Context) error { close(in); <-release.ch; return nil }
				go func() { restarted <- s.Restart(context.Background()) }()
				recv(t, in)
				cancel()
			},
			codes:    []int{mode.ExitStopTimeout},
			abandons: true,
		},
		{
			name: "Restart and a stop at once",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				go func() { _ = s.Restart(context.Background()) }()
				cancel()
			},
			codes:  []int{mode.ExitOK},
			mayRun: true, // see TestReview26RestartDuringWorkerStop
		},
		{
			name: "two Restarts at once, then a stop",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				errs := make(chan error, 2)
				for range 2 {
					go func() { errs <- s.Restart(context.Background()) }()
				}
				for range 2 {
					if err := recvErr(t, errs); err != nil {
						t.Errorf("Restart: %v", err)
					}
				}
				if err := s.WaitStarted(testCtx(t)); err != nil {
					t.Fatal(err)
				}
				if st := s.State(); st != service.Running {
					t.Fatalf("after two Restarts the root is %v", st)
				}
				cancel()
			},
			codes: []int{mode.ExitOK},
		},
		{
			// The restarted run crashes: a crash, not a normal end.
			name: "the restarted run crashes",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				s.second = func(context.Context) error {
					return s.Go("bomb", func(context.Context) error { return errors.New("boom after restart") })
				}
				go func() { _ = s.Restart(context.Background()) }()
			},
			codes: []int{mode.ExitFailure},
			text:  "boom after restart",
		},
		{
			// A Stop of the root aborting its Restart (or right after it:
			// either is a requested stop) is a normal end.
			name: "a Stop aborts a Restart",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				in := make(chan struct{})
				s.onRestart = func(context.Context) error { close(in); <-release.ch; return nil }
				go func() { _ = s.Restart(context.Background()) }()
				recv(t, in)
				go func() { _ = s.Stop(context.Background()) }()
				release.close()
			},
			codes: []int{mode.ExitOK},
		},
		{
			// The root stops itself after a Restart: a normal end.
			name: "Stop after a Restart",
			setup: func(t *testing.T, s *r26Svc, w *mode.Worker, cancel context.CancelFunc, release *r26Release) {
				if err := s.Restart(context.Background()); err != nil {
					t.Fatal(err)
				}
				go func() { _ = s.Stop(context.Background()) }()
			},
			codes: []int{mode.ExitOK},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			restarted = make(chan error, 1)
			s := newR26()
			s.task = func(ctx context.Context) error { <-ctx.Done(); return nil }
			release := &r26Release{ch: make(chan struct{})}
			defer release.close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: stopTimeout}
			wait := r23Run(t, w, ctx)
			if err := s.WaitStarted(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, s, w, cancel, release)
			began := time.Now()
			err := wait(10 * time.Second)
			if d := time.Since(began); d > stopTimeout+3*time.Second {
				t.Errorf("Run took %v after the stimulus, StopTimeout %v", d, stopTimeout)
			}
			code := mode.ExitCode(err)
			ok := false
			for _, c := range tc.codes {
				ok = ok || c == code
			}
			if !ok {
				t.Errorf("Run: %v (code %d), want one of %v", err, code, tc.codes)
			}
			if tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)) {
				t.Errorf("Run: %v, want it to say %q", err, tc.text)
			}
			if st := s.State(); st == service.Running && !tc.mayRun {
				t.Errorf("after Run the root is %v", st)
			}
			defer func() { _ = s.Stop(context.Background()) }()
			if tc.abandons {
				release.close()
				err := recvErr(t, restarted)
				if st := s.State(); st == service.Running || st == service.Starting {
					t.Errorf("the abandoned Restart (%v) started the root again after Run returned: %v", err, st)
					_ = s.Stop(context.Background())
				}
			}
		})
	}
}

// TestReview26RestartDuringWorkerStop: a Restart of the root asked while
// the Worker stops the tree (an admin endpoint's, which passed its Running
// check just before the stop began) waits for the stop, then starts the
// root again from Shutdown: the tree runs on after Run has returned, with
// no Worker to stop it at SIGTERM. OTP's restart_child on a terminating
// supervisor fails instead.
func TestReview26RestartDuringWorkerStop(t *testing.T) {
	s := newR26()
	restarted := make(chan error, 1)
	var once sync.Once
	s.onStop = func(context.Context) error {
		once.Do(func() { go func() { restarted <- s.Restart(context.Background()) }() })
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: time.Second}
	wait := r23Run(t, w, ctx)
	if err := s.WaitStarted(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	err := recvErr(t, restarted)
	if !errors.Is(err, service.ErrStopped) {
		t.Errorf("a Restart asked during the Stop: %v, want ErrStopped (the Stop wins)", err)
	}
	if st := s.State(); st == service.Running || st == service.Starting {
		_ = s.Stop(context.Background())
		t.Fatalf("a Restart asked during the Worker's stop (%v) left the root %v after Run returned", err, st)
	}
}

// restarted takes the result of the Restart a case of
// TestReview26RootRestartHostile abandons.
var restarted chan error

// TestReview26RestartFromReady: Ready restarts the root (a Restart that
// completes before the Worker waits on the tree) and the Worker goes on
// with the restarted run; one whose OnRestart fails is a crash.
func TestReview26RestartFromReady(t *testing.T) {
	for _, fail := range []bool{false, true} {
		name := map[bool]string{false: "passes", true: "OnRestart fails"}[fail]
		t.Run(name, func(t *testing.T) {
			s := newR26()
			s.task = func(ctx context.Context) error { <-ctx.Done(); return nil }
			if fail {
				s.onRestart = func(context.Context) error { return errors.New("cannot reset") }
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var rerr error
			readied := make(chan struct{})
			w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: time.Second,
				Ready: func() { rerr = s.Restart(context.Background()); close(readied) }}
			wait := r23Run(t, w, ctx)
			if fail {
				err := wait(10 * time.Second)
				if mode.ExitCode(err) != mode.ExitFailure || !strings.Contains(err.Error(), "cannot reset") && !strings.Contains(err.Error(), "a Restart left it shutdown") {
					t.Fatalf("Run: %v (code %d), want ExitFailure saying the Restart left it down", err, mode.ExitCode(err))
				}
				if rerr == nil {
					t.Fatal("Restart: nil")
				}
				return
			}
			recv(t, readied)
			if rerr != nil || s.State() != service.Running || s.RestartCount() != 1 {
				t.Fatalf("Restart from Ready: %v; root %v, restart count %d", rerr, s.State(), s.RestartCount())
			}
			cancel()
			if err := wait(10 * time.Second); err != nil {
				t.Fatalf("Run: %v (Restart: %v)", err, rerr)
			}
		})
	}
}

// TestReview26SupervisorRootGivesUpAfterRestart: a supervisor at the root,
// restarted by hand, whose child then crashes past its intensity: the
// supervisor gives up and Run ends as a crash (ExitFailure), not as a
// Restart in progress nor a normal end.
func TestReview26SupervisorRootGivesUpAfterRestart(t *testing.T) {
	var runs atomic.Int32
	entered := make(chan struct{}, 16)
	child := service.Func("leaf", func(ctx context.Context) error {
		n := runs.Add(1)
		entered <- struct{}{}
		if n >= 2 { // after the root's restart: crash every time
			return errors.New("leaf broken")
		}
		<-ctx.Done()
		return nil
	})
	child.Configure(service.Config{Logger: &r23Nop})
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root", Logger: &r23Nop}, MaxRestarts: 2})
	if err := sup.Add(context.Background(), child, supervisor.ChildSpec{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := r23Run(t, &mode.Worker{Service: sup, Logger: &r23Nop, StopTimeout: 2 * time.Second}, ctx)
	recv(t, entered)
	_ = sup.Restart(context.Background()) // it may have given up already as it returns
	err := wait(10 * time.Second)
	if mode.ExitCode(err) != mode.ExitFailure || !errors.Is(err, supervisor.ErrMaxRestarts) {
		t.Fatalf("Run: %v (code %d), want ExitFailure with ErrMaxRestarts", err, mode.ExitCode(err))
	}
}

// TestReview26RestartDuringWorkerStart: a Restart asked while the Worker
// starts the root waits for the start, then restarts it; the Worker goes
// on with the restarted root and stops it when asked.
func TestReview26RestartDuringWorkerStart(t *testing.T) {
	s := newR26()
	s.task = func(ctx context.Context) error { <-ctx.Done(); return nil }
	in, release := make(chan struct{}), make(chan struct{})
	s.onStart = func(context.Context) error {
		if s.starts.Load() == 1 {
			close(in)
			<-release
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := r23Run(t, &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: time.Second}, ctx)
	recv(t, in)
	restarted := make(chan error, 1)
	go func() { restarted <- s.Restart(context.Background()) }()
	close(release)
	if err := recvErr(t, restarted); err != nil {
		t.Fatalf("Restart during the start: %v", err)
	}
	if st, n := s.State(), s.RestartCount(); st != service.Running || n != 1 {
		t.Fatalf("after the Restart: %v, restart count %d", st, n)
	}
	cancel()
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := s.State(); st != service.Shutdown {
		t.Fatalf("after Run: %v", st)
	}
}

// TestReview26DumpStormWhileDumpToBlocks: a storm of dump signals while
// DumpTo blocks makes one write (the others are skipped, DumpTo's doc: one
// write at a time), and SIGTERM still stops the tree with Run returning
// within its stop budget plus the second it waits for the write.
func TestReview26DumpStormWhileDumpToBlocks(t *testing.T) {
	root := newR23("root", service.Config{})
	root.task = func(ctx context.Context) error { <-ctx.Done(); return nil }
	dw := &r26CountingWriter{entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(dw.release)
	ready := make(chan struct{})
	w := &mode.Worker{Service: root, Logger: &r23Nop, DumpTo: dw, StopTimeout: time.Second, Ready: func() { close(ready) }}
	wait := r23Run(t, w, context.Background())
	recv(t, ready)
	r23Kill(t, syscall.SIGUSR1)
	recv(t, dw.entered)
	for range 30 {
		r23Kill(t, syscall.SIGUSR1)
	}
	began := time.Now()
	r23Kill(t, syscall.SIGTERM)
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Run took %v after SIGTERM while DumpTo blocked", d)
	}
	if n := dw.writes.Load(); n != 1 {
		t.Errorf("%d writes to DumpTo while the first blocked, want 1", n)
	}
	if st := root.State(); st != service.Shutdown {
		t.Errorf("root after Run: %v", st)
	}
}

// r26CountingWriter counts its writes; each blocks until release.
type r26CountingWriter struct {
	writes  atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (w *r26CountingWriter) Write(p []byte) (int, error) {
	if w.writes.Add(1) == 1 {
		w.entered <- struct{}{}
	}
	<-w.release
	return len(p), nil
}

func recv(t *testing.T, ch chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatal("not reached")
	}
}

func recvErr(t *testing.T, ch chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitLimit):
		t.Fatal("no result")
		return nil
	}
}

// r26Release releases the hooks that wait on it, once.
type r26Release struct {
	ch   chan struct{}
	once sync.Once
}

func (r *r26Release) close() { r.once.Do(func() { close(r.ch) }) }
