package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// adder is a service that adds its children from the hook the test names:
// "OnStart" (mode's idiom, refused) or "OnFirstStart" (the Go way).
type adder struct {
	service.Base
	hook string
	add  func(ctx context.Context, a *adder) error
}

func (a *adder) OnFirstStart(ctx context.Context) error {
	if a.hook == "OnFirstStart" {
		return a.add(ctx, a)
	}
	return nil
}

func (a *adder) OnStart(ctx context.Context) error {
	if a.hook == "OnStart" {
		return a.add(ctx, a)
	}
	return nil
}

// supAdder is a type embedding a Supervisor that adds its children in its
// own OnStart, or in OnStarted if late (the supervisor runs by then).
type supAdder struct {
	supervisor.Supervisor
	kid  service.Service
	late bool
}

func (s *supAdder) OnStart(ctx context.Context) error {
	if s.late {
		return nil
	}
	return s.Add(ctx, s.kid)
}

func (s *supAdder) OnStarted(ctx context.Context) error {
	if !s.late {
		return nil
	}
	return s.Add(ctx, s.kid)
}

// TestChildrenAddedInOnStart: a child added from OnStart (directly, at run
// time, or to a child supervisor) would be added again at the first
// restart; it is refused at the first start, with an error that says what
// to do instead. Added from OnFirstStart, the same child survives restarts.
func TestChildrenAddedInOnStart(t *testing.T) {
	adds := []struct {
		name string
		add  func(ctx context.Context, a *adder, kid service.Service) error
	}{
		{"AddDependency", func(_ context.Context, a *adder, kid service.Service) error {
			return a.AddDependency(kid)
		}},
		{"AddRuntimeDependency", func(ctx context.Context, a *adder, kid service.Service) error {
			return a.AddRuntimeDependency(ctx, kid)
		}},
		{"Add to a child supervisor", func(ctx context.Context, a *adder, kid service.Service) error {
			pool := newSup(supervisor.Spec{Service: service.Config{Name: "pool"}}, nil)
			if err := a.AddDependency(pool); err != nil && !errors.Is(err, service.ErrAlreadyAdded) {
				return err
			}
			if a.Node().Len() == 0 {
				return errors.New("pool not added")
			}
			p := a.Node().Children()[0].Value().(*supervisor.Supervisor)
			return p.Add(ctx, kid)
		}},
		{"AddDependency, error ignored", func(_ context.Context, a *adder, kid service.Service) error {
			_ = a.AddDependency(kid)
			return nil
		}},
	}
	for _, tt := range adds {
		t.Run("OnStart/"+tt.name, func(t *testing.T) {
			ctx := bg(t)
			kid := newWorker("kid")
			a := &adder{hook: "OnStart"}
			if tt.name == "Add to a child supervisor" {
				// The pool itself is added once, the right way.
				pool := newSup(supervisor.Spec{Service: service.Config{Name: "pool"}}, nil)
				must(t, a.AddDependency(pool))
			}
			a.add = func(ctx context.Context, a *adder) error { return tt.add(ctx, a, kid) }
			a.Configure(service.Config{Name: "a", Logger: &quiet})
			sup := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
			must(t, sup.Add(ctx, a))
			err := service.Start(ctx, sup)
			if !errors.Is(err, service.ErrAddedInOnStart) || !strings.Contains(err.Error(), "OnFirstStart") {
				t.Fatalf("first start: %v, want ErrAddedInOnStart naming OnFirstStart", err)
			}
			if st := sup.State(); st != service.Init {
				t.Fatalf("supervisor in state %v after the failed start, want Init", st)
			}
			if kid.Node().Parent() != nil {
				t.Fatalf("kid attached to %v", kid.Node().Parent().Value())
			}
		})
	}

	for _, late := range []bool{false, true} {
		hook := map[bool]string{false: "OnStart", true: "OnStarted"}[late]
		t.Run(hook+" of a type embedding Supervisor", func(t *testing.T) {
			ctx := bg(t)
			s := &supAdder{kid: newWorker("kid"), late: late}
			s.Configure(service.Config{Name: "sup", Logger: &quiet})
			err := service.Start(ctx, s)
			if err == nil {
				rerr := s.Restart(ctx)
				must(t, s.Stop(ctx))
				t.Fatalf("first start succeeded (the restart then: %v), want ErrAddedInOnStart", rerr)
			}
			if !errors.Is(err, service.ErrAddedInOnStart) {
				t.Fatalf("first start: %v, want ErrAddedInOnStart", err)
			}
			if n := len(s.Children()); n != 0 {
				t.Fatalf("%d children after the failed start", n)
			}
		})
	}

	for _, tt := range adds[:2] {
		t.Run("OnFirstStart/"+tt.name+"/survives a crash", func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			kid := newWorker("kid")
			a := &adder{hook: "OnFirstStart"}
			a.add = func(ctx context.Context, a *adder) error { return tt.add(ctx, a, kid) }
			a.Configure(service.Config{Name: "a", Logger: &quiet})
			sup := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, ev)
			must(t, sup.Add(ctx, a))
			must(t, service.Start(ctx, sup))
			defer func() { must(t, sup.Stop(ctx)) }()
			for i := 1; i <= 2; i++ {
				a.Crash(errBoom)
				ev.wait(t, supervisor.ChildRestarted, "a", i)
				if a.State() != service.Running || kid.State() != service.Running {
					t.Fatalf("after restart %d: a %v, kid %v", i, a.State(), kid.State())
				}
				if a.RestartCount() != i || kid.Starts() != i+1 || a.Node().Len() != 1 {
					t.Fatalf("after restart %d: a restarted %d times, kid started %d times, a has %d children",
						i, a.RestartCount(), kid.Starts(), a.Node().Len())
				}
			}
		})
	}
}

// TestChildAddedByTaskDuringOnStart: a task may add children (dynamic
// children are its business) even while OnStart still runs: the answer
// does not depend on timing.
func TestChildAddedByTaskDuringOnStart(t *testing.T) {
	ctx := bg(t)
	kid := newWorker("kid")
	a := &adder{hook: "OnStart"}
	a.add = func(ctx context.Context, a *adder) error {
		res := make(chan error, 1)
		if err := a.Go("adder", func(context.Context) error {
			res <- a.AddDependency(kid)
			return nil
		}); err != nil {
			return err
		}
		return <-res // OnStart runs until the task has added kid
	}
	a.Configure(service.Config{Name: "a", Logger: &quiet})
	must(t, service.Start(ctx, a))
	defer func() { must(t, a.Stop(ctx)) }()
	if kid.State() != service.Running {
		t.Fatalf("kid %v, want Running", kid.State())
	}
}

// firstAdder is a type embedding a Supervisor that adds its children in
// OnFirstStart and then fails the first fails times.
type firstAdder struct {
	supervisor.Supervisor
	kids     []service.Service
	fails    int
	attempts int
}

func (s *firstAdder) OnFirstStart(ctx context.Context) error {
	s.attempts++
	for _, k := range s.kids {
		if err := s.Add(ctx, k); err != nil {
			return err
		}
	}
	if s.attempts <= s.fails {
		return errBoom
	}
	return nil
}

// TestOnFirstStartRetriedOnSupervisor: the children a failed OnFirstStart
// added to a supervisor are taken back (its spec too), so the next attempt
// adds them again without ErrAlreadyAdded or ErrDuplicateID.
func TestOnFirstStartRetriedOnSupervisor(t *testing.T) {
	for _, fails := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("fails %d times", fails), func(t *testing.T) {
			ctx := bg(t)
			s := &firstAdder{kids: []service.Service{newWorker("k1"), newWorker("k2")}, fails: fails}
			s.Configure(service.Config{Name: "sup", Logger: &quiet})
			for i := range fails {
				if err := service.Start(ctx, s); !errors.Is(err, errBoom) {
					t.Fatalf("attempt %d: %v, want errBoom", i+1, err)
				}
				if n := len(s.Children()); n != 0 {
					t.Fatalf("after failed attempt %d: %d children", i+1, n)
				}
			}
			must(t, service.Start(ctx, s))
			defer func() { must(t, s.Stop(ctx)) }()
			must(t, s.Restart(ctx))
			if n := len(s.Children()); n != 2 {
				t.Fatalf("%d children, want 2", n)
			}
			for _, k := range s.kids {
				if k.State() != service.Running {
					t.Errorf("%s %v", k.ShortLabel(), k.State())
				}
			}
		})
	}
}
