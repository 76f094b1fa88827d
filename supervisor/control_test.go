package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

func TestBadInput(t *testing.T) {
	ctx := bg(t)
	other := newSup(supervisor.Spec{}, nil)
	owned := newWorker("owned")
	must(t, other.Add(context.Background(), owned))
	cases := []struct {
		name string
		spec supervisor.Spec
		add  func(s *supervisor.Supervisor) error
		want error
	}{
		{"nil child", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.Add(context.Background(), nil) }, supervisor.ErrNilChild},
		{"typed nil child", supervisor.Spec{}, func(s *supervisor.Supervisor) error { var w *worker; return s.Add(context.Background(), w) }, service.ErrNilService},
		{"child of another parent", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.Add(context.Background(), owned) }, service.ErrHasParent},
		{"duplicate ID", supervisor.Spec{}, func(s *supervisor.Supervisor) error {
			must(t, s.Add(context.Background(), newWorker("x")))
			return s.Add(context.Background(), newWorker("x"))
		}, supervisor.ErrDuplicateID},
		{"same child twice", supervisor.Spec{}, func(s *supervisor.Supervisor) error {
			w := newWorker("")
			must(t, s.Add(context.Background(), w))
			return s.Add(context.Background(), w, supervisor.ChildSpec{ID: "other"})
		}, service.ErrAlreadyAdded},
		{"supervisor under itself", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.Add(context.Background(), s) }, service.ErrCycle},
		{"unknown restart type", supervisor.Spec{}, func(s *supervisor.Supervisor) error {
			return s.Add(context.Background(), newWorker(""), supervisor.ChildSpec{Restart: 7})
		}, supervisor.ErrBadSpec},
		{"negative child shutdown", supervisor.Spec{}, func(s *supervisor.Supervisor) error {
			return s.Add(context.Background(), newWorker(""), supervisor.ChildSpec{ShutdownTimeout: -1})
		}, supervisor.ErrBadSpec},
		{"significant permanent", supervisor.Spec{AutoShutdown: supervisor.AnySignificant}, func(s *supervisor.Supervisor) error {
			return s.Add(context.Background(), newWorker(""), supervisor.ChildSpec{Significant: true})
		}, supervisor.ErrConflictingOptions},
		{"significant without auto-shutdown", supervisor.Spec{}, func(s *supervisor.Supervisor) error {
			return s.Add(context.Background(), newWorker(""), supervisor.ChildSpec{Significant: true, Restart: strategy.Transient})
		}, supervisor.ErrConflictingOptions},
		{"two child specs", supervisor.Spec{}, func(s *supervisor.Supervisor) error {
			return s.Add(context.Background(), newWorker(""), supervisor.ChildSpec{}, supervisor.ChildSpec{})
		}, supervisor.ErrBadSpec},
		{"max children", supervisor.Spec{MaxChildren: 1}, func(s *supervisor.Supervisor) error {
			must(t, s.Add(context.Background(), newWorker("")))
			return s.Add(context.Background(), newWorker(""))
		}, supervisor.ErrMaxChildren},
		{"remove a stranger", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.Remove(ctx, newWorker("")) }, supervisor.ErrNoChild},
		{"remove nil", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.Remove(ctx, nil) }, supervisor.ErrNilChild},
		{"terminate unknown", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.Terminate(ctx, "nope") }, supervisor.ErrNoChild},
		{"restart unknown", supervisor.Spec{}, func(s *supervisor.Supervisor) error { return s.RestartChild(ctx, "nope") }, supervisor.ErrNoChild},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSup(tc.spec, nil)
			if err := tc.add(s); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBadSpecFailsStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec supervisor.Spec
		want error
	}{
		{"unknown strategy", supervisor.Spec{Strategy: 9}, strategy.ErrUnknownStrategy},
		{"negative MaxRestarts", supervisor.Spec{MaxRestarts: -1}, supervisor.ErrBadSpec},
		{"negative Window", supervisor.Spec{Window: -time.Second}, supervisor.ErrBadSpec},
		{"NeverRestart with MaxRestarts", supervisor.Spec{NeverRestart: true, MaxRestarts: 2}, supervisor.ErrConflictingOptions},
		{"backoff min > max", supervisor.Spec{Backoff: strategy.Backoff{Min: time.Second, Max: time.Millisecond}}, supervisor.ErrBadSpec},
		{"negative MaxChildren", supervisor.Spec{MaxChildren: -1}, supervisor.ErrBadSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.spec.Validate(); !errors.Is(err, tc.want) {
				t.Fatalf("Validate: %v", err)
			}
			s := newSup(tc.spec, nil)
			w := newWorker("w")
			must(t, s.Add(context.Background(), w))
			if err := service.Start(bg(t), s); !errors.Is(err, tc.want) {
				t.Fatalf("Start: %v", err)
			}
			if s.State() != service.Init || w.State() != service.Init {
				t.Fatalf("states after failed start: %v %v", s.State(), w.State())
			}
		})
	}
}

func TestNeverRestart(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{NeverRestart: true}, nil)
	w := newWorker("w")
	must(t, s.Add(context.Background(), w))
	must(t, service.Start(ctx, s))
	w.Crash(errBoom)
	if err := s.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errBoom) {
		t.Fatalf("reason %v", err)
	}
	must(t, s.Stop(ctx))
	if w.Starts() != 1 {
		t.Fatalf("restarted %d times", w.Starts()-1)
	}
}

func TestTerminateAndRestartChild(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{Strategy: strategy.OneForAll}, ev)
	a, b := newWorker("a"), newWorker("b")
	must(t, s.Add(context.Background(), a))
	must(t, s.Add(context.Background(), b))
	must(t, service.Start(ctx, s))
	must(t, s.Terminate(ctx, "a"))
	if a.State() != service.Shutdown {
		t.Fatalf("a %v", a.State())
	}
	// A group restart keeps a terminated child down.
	b.Crash(errBoom)
	ev.wait(t, supervisor.ChildRestarted, "b", 1)
	if a.State() != service.Shutdown || a.Starts() != 1 {
		t.Fatalf("terminated child restarted: %v, %d starts", a.State(), a.Starts())
	}
	must(t, s.RestartChild(ctx, "a"))
	if a.State() != service.Running || a.Starts() != 2 {
		t.Fatalf("RestartChild: %v, %d starts", a.State(), a.Starts())
	}
	if info := s.Children(); info[0].Terminated || info[0].RestartCount != 1 {
		t.Fatalf("Children: %+v", info)
	}
	must(t, s.Remove(ctx, b))
	if b.State() != service.Shutdown || len(s.Children()) != 1 || b.Node().Parent() != nil {
		t.Fatalf("Remove: %v %+v", b.State(), s.Children())
	}
	must(t, s.Stop(ctx))
}

func TestRemoveFromInsideChild(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{}, nil)
	var f *service.FuncService
	removed := make(chan error, 1)
	started := make(chan struct{})
	f = service.Func("self-remover", func(ctx context.Context) error {
		<-started
		removed <- s.Remove(ctx, f)
		<-ctx.Done()
		return ctx.Err()
	})
	f.Configure(service.Config{Logger: &quiet})
	must(t, s.Add(context.Background(), f))
	must(t, service.Start(ctx, s))
	close(started)
	must(t, <-removed)
	must(t, f.WaitUntilStopped(ctx))
	must(t, s.Stop(ctx)) // joins the removal task
	if len(s.Children()) != 0 {
		t.Fatalf("child kept: %+v", s.Children())
	}
}

func TestAddWhileRunning(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{}, nil)
	must(t, service.Start(ctx, s))
	w := newWorker("late")
	must(t, s.Add(context.Background(), w))
	if w.State() != service.Running {
		t.Fatalf("late child %v", w.State())
	}
	bad := newWorker("bad")
	bad.failAt = map[int]error{1: errBoom}
	if err := s.Add(context.Background(), bad); !errors.Is(err, errBoom) {
		t.Fatalf("Add of a failing child: %v", err)
	}
	if len(s.Children()) != 1 || bad.Node().Parent() != nil {
		t.Fatalf("failing child kept: %+v", s.Children())
	}
	must(t, s.Stop(ctx))
	if w.State() != service.Shutdown {
		t.Fatalf("late child %v after stop", w.State())
	}
}

func TestBackoffDoesNotBlock(t *testing.T) {
	ctx := bg(t)
	clk := clock.NewFake(time.Unix(0, 0))
	ev := newEvents()
	s := newSup(supervisor.Spec{
		Service:     service.Config{Clock: clk},
		MaxRestarts: 10,
		Backoff:     strategy.Backoff{Min: time.Second, Max: 10 * time.Second, NoJitter: true},
	}, ev)
	a, b := newWorker("a"), newWorker("b")
	must(t, s.Add(context.Background(), a))
	must(t, s.Add(context.Background(), b))
	must(t, service.Start(ctx, s))

	a.Crash(errBoom)
	got := ev.wait(t, supervisor.BackoffStarted, "a", 1)
	if got[0].Delay != time.Second {
		t.Fatalf("delay %v", got[0].Delay)
	}
	// While a waits out its backoff, b's crash is handled too, with its
	// own backoff (each child has its own: a's flapping does not delay b),
	// and Children() answers.
	b.Crash(errBoom)
	got = ev.wait(t, supervisor.BackoffStarted, "b", 1)
	if got[0].Delay != time.Second {
		t.Fatalf("b's first delay %v", got[0].Delay)
	}
	if n := len(s.Children()); n != 2 {
		t.Fatalf("Children %d", n)
	}
	clk.Advance(time.Second)
	ev.wait(t, supervisor.ChildRestarted, "a", 1)
	ev.wait(t, supervisor.ChildRestarted, "b", 1)

	// a's second crash waits twice as long; b's state is its own.
	a.Crash(errBoom)
	got = ev.wait(t, supervisor.BackoffStarted, "a", 2)
	if got[1].Delay != 2*time.Second {
		t.Fatalf("a's second delay %v", got[1].Delay)
	}
	clk.Advance(2 * time.Second)
	ev.wait(t, supervisor.ChildRestarted, "a", 2)

	// A pending backoff does not hold up Stop.
	a.Crash(errBoom)
	ev.wait(t, supervisor.BackoffStarted, "a", 3)
	must(t, s.Stop(ctx))
	if a.State() != service.Shutdown {
		t.Fatalf("a %v", a.State())
	}
}

func TestReplacement(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{}, ev)
	var made []*worker
	factory := func() service.Service {
		w := newWorker("")
		made = append(made, w)
		return w
	}
	first := factory().(*worker)
	must(t, s.Add(context.Background(), newWorker("before")))
	must(t, s.Add(context.Background(), first, supervisor.ChildSpec{ID: "w", Replacement: factory}))
	must(t, s.Add(context.Background(), newWorker("after")))
	must(t, service.Start(ctx, s))
	for i := 1; i <= 2; i++ {
		s.Child("w").Crash(errBoom)
		ev.wait(t, supervisor.ChildRestarted, "w", i)
	}
	if len(made) != 3 {
		t.Fatalf("%d instances", len(made))
	}
	cur := s.Child("w").(*worker)
	if cur != made[2] || cur.State() != service.Running || cur.RestartCount() != 0 {
		t.Fatalf("current instance: %v restarts=%d", cur.State(), cur.RestartCount())
	}
	info := s.Children()
	if info[1].ID != "w" || info[1].RestartCount != 2 || info[1].Service != service.Service(cur) {
		t.Fatalf("Children: %+v", info)
	}
	if first.State() != service.Shutdown || first.Node().Parent() != nil {
		t.Fatalf("old instance %v", first.State())
	}
	must(t, s.Stop(ctx))
	if cur.State() != service.Shutdown {
		t.Fatalf("replacement not stopped: %v", cur.State())
	}
}

// A child whose last run left a task running is never started twice: the
// attempt fails with ErrStopTimeout and, over the limit, escalates.
func TestHungChildEscalates(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{MaxRestarts: 2, ShutdownTimeout: time.Millisecond}, nil)
	release := make(chan struct{})
	w := newWorker("w")
	must(t, s.Add(context.Background(), w))
	must(t, service.Start(ctx, s))
	must(t, w.Go("stubborn", func(context.Context) error { <-release; return nil }))
	w.Crash(errBoom)
	err := s.WaitUntilStopped(ctx)
	if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, service.ErrStopTimeout) {
		t.Fatalf("reason %v", err)
	}
	if w.Starts() != 1 {
		t.Fatalf("hung child started %d times", w.Starts())
	}
	close(release)
	must(t, s.Stop(ctx))
}

func TestPanicBecomesCrash(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{}, ev)
	calls := 0
	f := service.Func("p", func(ctx context.Context) error {
		calls++
		if calls == 1 {
			panic("kaboom")
		}
		<-ctx.Done()
		return ctx.Err()
	})
	f.Configure(service.Config{Logger: &quiet})
	must(t, s.Add(context.Background(), f))
	must(t, service.Start(ctx, s))
	got := ev.wait(t, supervisor.ChildCrashed, "p", 1)
	var pe *service.PanicError
	if !errors.As(got[0].Reason, &pe) || len(pe.Stack) == 0 {
		t.Fatalf("reason %v", got[0].Reason)
	}
	ev.wait(t, supervisor.ChildRestarted, "p", 1)
	must(t, s.Stop(ctx))
}
