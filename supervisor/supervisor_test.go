package supervisor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

func TestOneForOneRestartsCrashedChild(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	sup := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, ev)
	a, b := newWorker("a"), newWorker("b")
	must(t, sup.Add(context.Background(), a))
	must(t, sup.Add(context.Background(), b))
	must(t, service.Start(ctx, sup))

	a.Crash(errBoom)
	ev.wait(t, supervisor.ChildRestarted, "a", 1)
	if a.State() != service.Running || a.RestartCount() != 1 || a.Starts() != 2 {
		t.Fatalf("a: %v restarts=%d starts=%d", a.State(), a.RestartCount(), a.Starts())
	}
	if b.Starts() != 1 || b.RestartCount() != 0 {
		t.Fatalf("bystander b restarted: starts=%d", b.Starts())
	}
	kids := sup.Children()
	if len(kids) != 2 || kids[0].ID != "a" || kids[0].RestartCount != 1 || !errors.Is(kids[0].LastReason, errBoom) {
		t.Fatalf("Children: %+v", kids)
	}
	must(t, sup.Stop(ctx))
	if a.State() != service.Shutdown || b.State() != service.Shutdown {
		t.Fatalf("after stop: %v %v", a.State(), b.State())
	}
}

func TestIntensityEscalates(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	sup := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}, MaxRestarts: 2}, ev)
	a := newWorker("a")
	must(t, sup.Add(context.Background(), a))
	must(t, service.Start(ctx, sup))
	for i := 1; i <= 2; i++ {
		a.Crash(errBoom)
		ev.wait(t, supervisor.ChildRestarted, "a", i)
	}
	a.Crash(errBoom)
	ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)
	err := sup.WaitUntilStopped(ctx)
	if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errBoom) {
		t.Fatalf("supervisor reason: %v", err)
	}
	if a.State() != service.Shutdown {
		t.Fatalf("child left %v", a.State())
	}
	must(t, sup.Stop(ctx))
}

func TestFuncNormalExit(t *testing.T) {
	for _, tc := range []struct {
		typ      strategy.RestartType
		restarts bool
		removed  bool
	}{
		{strategy.Permanent, true, false},
		{strategy.Transient, false, false},
		{strategy.Temporary, false, true},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			sup := newSup(supervisor.Spec{MaxRestarts: 100}, ev)
			runs := make(chan int, 2)
			release := make(chan struct{})
			n := 0
			f := service.Func("f", func(ctx context.Context) error {
				n++ // runs are sequential
				runs <- n
				if n == 1 {
					<-release
					return nil // a normal exit
				}
				<-ctx.Done()
				return ctx.Err()
			})
			f.Configure(service.Config{Logger: &quiet})
			must(t, sup.Add(context.Background(), f, supervisor.ChildSpec{Restart: tc.typ}))
			must(t, service.Start(ctx, sup))
			<-runs
			close(release)
			ev.wait(t, supervisor.ChildExited, "f", 1)
			if tc.restarts {
				ev.wait(t, supervisor.ChildRestarted, "f", 1)
				<-runs
			}
			if tc.removed {
				ev.wait(t, supervisor.ChildRemoved, "f", 1)
				if len(sup.Children()) != 0 {
					t.Fatalf("temporary child kept: %+v", sup.Children())
				}
			}
			must(t, sup.Stop(ctx))
			if n := ev.count(supervisor.ChildRestarted, "f"); tc.restarts != (n > 0) {
				t.Fatalf("restarted %d times", n)
			}
		})
	}
}
