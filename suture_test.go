package mode_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/thejerf/suture/v4"
)

// A mode tree supervised by suture through service.ToSuture: crashes inside
// the tree are handled by the mode supervisor; when it gives up, suture
// sees Serve return the ErrMaxRestarts reason and serves it again, which
// restarts the whole mode tree; cancelling suture's context stops it.
func TestModeTreeUnderSuture(t *testing.T) {
	// top ── inner (supervisor) ── mid ── leaf, top served by suture. top's
	// OnStarted tells that everything below it is Running.
	ev := newEventLog()
	top := newNode("top", nil).withStarted()
	inner := newSup("inner", ev, supervisor.Spec{MaxRestarts: 1, Window: time.Hour})
	mid := newNode("mid", nil)
	leaf := newNode("leaf", nil)
	must(t, mid.AddDependency(leaf))
	must(t, inner.Add(context.Background(), mid))
	must(t, top.AddDependency(inner))

	terminations := make(chan error, 10)
	outer := suture.New("outer", suture.Spec{
		EventHook: func(e suture.Event) {
			if term, ok := e.(suture.EventServiceTerminate); ok {
				err, _ := term.Err.(error)
				terminations <- err
			}
		},
		FailureThreshold: 100, // no suture backoff
		Timeout:          waitLimit,
	})
	outer.Add(service.ToSuture(top))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := outer.ServeBackground(ctx)
	top.waitStarted(t, 1)
	must(t, top.WaitStarted(testCtx(t))) // OnStarted runs before the state is Running

	// A crash in the tree: the mode supervisor restarts its unit (mid).
	leaf.Crash(errBoom)
	ev.wait(t, "inner", supervisor.ChildRestarted, "mid", 1)
	if top.RestartCount() != 0 || inner.RestartCount() != 0 || mid.RestartCount() != 1 || leaf.RestartCount() != 1 || leaf.starts.Load() != 2 {
		t.Errorf("after one crash: top %d inner %d mid %d leaf %d (starts %d), want 0 0 1 1 (2)",
			top.RestartCount(), inner.RestartCount(), mid.RestartCount(), leaf.RestartCount(), leaf.starts.Load())
	}

	// The second crash exceeds inner's intensity. With no mode supervisor
	// above, the whole mode tree crashes: suture sees Serve return the
	// reason and serves top again, which restarts the whole tree.
	leaf.Crash(errBoom)
	top.waitStarted(t, 2)
	must(t, top.WaitStarted(testCtx(t))) // OnStarted runs before the state is Running
	for _, c := range []struct {
		s    service.Service
		want int
	}{{top, 1}, {inner, 1}, {mid, 2}, {leaf, 2}} {
		if c.s.State() != service.Running || c.s.RestartCount() != c.want {
			t.Errorf("after suture's restart: %s %v RestartCount %d, want running %d", c.s.Label(), c.s.State(), c.s.RestartCount(), c.want)
		}
	}
	if n := ev.count("inner", supervisor.MaxRestartsExceeded, ""); n != 1 {
		t.Errorf("inner gave up %d times, want 1", n)
	}
	// suture may report the termination after it has served top again.
	select {
	case err := <-terminations:
		if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errBoom) {
			t.Errorf("suture saw termination %v; want ErrMaxRestarts wrapping errBoom", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("suture saw no termination")
	}

	cancel()
	if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("suture returned %v", err)
	}

	for _, s := range []service.Service{top, inner, mid, leaf} {
		if s.State() != service.Shutdown {
			t.Errorf("%s left %v after suture stopped", s.Label(), s.State())
		}
	}
}

// sutureService is a suture.Service whose runs the test drives.
type sutureService struct {
	entered chan int   // receives the run number as each Serve begins
	ret     chan error // what the current Serve returns
	runs    int
}

func (s *sutureService) String() string { return "ss" }

func (s *sutureService) Serve(ctx context.Context) error {
	s.runs++ // runs never overlap
	s.entered <- s.runs
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-s.ret:
		return err
	}
}

func (s *sutureService) waitRun(t *testing.T, k int) {
	t.Helper()
	select {
	case got := <-s.entered:
		if got != k {
			t.Fatalf("run %d began, want %d", got, k)
		}
	case <-time.After(waitLimit):
		t.Fatalf("run %d never began", k)
	}
}

// A suture service under a mode supervisor through service.FromSuture:
// an error is a crash (restarted), nil a normal exit (a Permanent child is
// restarted), suture.ErrDoNotRestart an exit never restarted, and
// suture.ErrTerminateSupervisorTree makes the supervisor give up.
func TestSutureServiceUnderMode(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ret       error
		restarted bool
		gives     bool // the supervisor gives up
	}{
		{"error", errBoom, true, false},
		{"nil", nil, true, false},
		{"ErrDoNotRestart", suture.ErrDoNotRestart, false, false},
		{"ErrTerminateSupervisorTree", suture.ErrTerminateSupervisorTree, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{MaxRestarts: 10, Window: time.Hour})
			ss := &sutureService{entered: make(chan int, 10), ret: make(chan error)}
			f := service.FromSuture(ss)
			f.Configure(service.Config{Logger: &quiet})
			other := newNode("other", nil)
			must(t, sup.Add(context.Background(), f, supervisor.ChildSpec{ID: "ss", Restart: strategy.Permanent}))
			must(t, sup.Add(context.Background(), other))
			must(t, service.Start(ctx, sup))
			defer stopAll(t, sup)
			ss.waitRun(t, 1)

			ss.ret <- tc.ret
			switch {
			case tc.restarted:
				ss.waitRun(t, 2)
				ev.wait(t, "sup", supervisor.ChildRestarted, "ss", 1)
				if f.State() != service.Running || f.RestartCount() != 1 {
					t.Errorf("adapter %v RestartCount %d, want running 1", f.State(), f.RestartCount())
				}
			case tc.gives:
				err := sup.WaitUntilStopped(ctx)
				if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, suture.ErrTerminateSupervisorTree) {
					t.Fatalf("supervisor reason %v: want ErrMaxRestarts wrapping ErrTerminateSupervisorTree", err)
				}
				if other.State() != service.Shutdown {
					t.Errorf("sibling left %v after the supervisor gave up", other.State())
				}
			default:
				ev.wait(t, "sup", supervisor.ChildExited, "ss", 1)
				if info := childInfo(t, sup, "ss"); info.State != service.Shutdown || info.RestartCount != 0 {
					t.Errorf("after ErrDoNotRestart: %+v, want kept and down", info)
				}
				if n := ev.count("sup", supervisor.ChildRestarted, ""); n != 0 {
					t.Errorf("%d restarts after ErrDoNotRestart", n)
				}
				// It can still be restarted by ID (OTP's restart_child).
				must(t, sup.RestartChild(ctx, "ss"))
				ss.waitRun(t, 2)
			}
			crashed := ev.count("sup", supervisor.ChildCrashed, "ss")
			if want := map[bool]int{true: 1, false: 0}[tc.ret != nil && !errors.Is(tc.ret, suture.ErrDoNotRestart)]; crashed != want {
				t.Errorf("%d crash events, want %d", crashed, want)
			}
			if !tc.gives && (sup.State() != service.Running || other.starts.Load() != 1) {
				t.Errorf("supervisor %v, sibling starts %d", sup.State(), other.starts.Load())
			}
			if tc.name == "error" {
				if info := childInfo(t, sup, "ss"); !errors.Is(info.LastReason, errBoom) {
					t.Errorf("LastReason %v", info.LastReason)
				}
			}
		})
	}
}
