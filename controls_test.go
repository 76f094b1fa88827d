package mode_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// OTP's child_adm, whole-tree: Add while running, Terminate keeps a child
// down (through group restarts too) until RestartChild, which is a manual
// restart not counted toward the intensity, and Remove drops a child.
func TestChildControls(t *testing.T) {
	ctx := testCtx(t)
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{Strategy: strategy.OneForAll, MaxRestarts: 2, Window: time.Hour})
	a, b := newNode("a", nil), newNode("b", nil)
	must(t, sup.Add(context.Background(), a))
	must(t, sup.Add(context.Background(), b, supervisor.ChildSpec{Restart: strategy.Transient}))
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	// Add while running: the child starts at once, last in the order.
	c := newNode("c", nil)
	must(t, sup.Add(context.Background(), c))
	if c.State() != service.Running || c.starts.Load() != 1 || !slices.Equal(childIDs(sup), []string{"a", "b", "c"}) {
		t.Fatalf("runtime Add: c %v starts %d, children %v", c.State(), c.starts.Load(), childIDs(sup))
	}

	// Terminate keeps a down, even through a one-for-all restart.
	must(t, sup.Terminate(ctx, "a"))
	if info := childInfo(t, sup, "a"); a.State() != service.Shutdown || !info.Terminated {
		t.Fatalf("after Terminate: a %v, %+v", a.State(), info)
	}
	b.Crash(errBoom) // restart 1 of 2
	ev.wait(t, "sup", supervisor.ChildRestarted, "c", 1)
	if a.State() != service.Shutdown || a.starts.Load() != 1 || ev.count("sup", supervisor.ChildRestarted, "a") != 0 {
		t.Errorf("terminated a came back with the group: %v starts %d", a.State(), a.starts.Load())
	}
	if b.starts.Load() != 2 || c.starts.Load() != 2 {
		t.Errorf("group restart: b starts %d, c starts %d, want 2 2", b.starts.Load(), c.starts.Load())
	}

	// RestartChild brings a back; it is not counted: one more crash is
	// still allowed.
	must(t, sup.RestartChild(ctx, "a"))
	if info := childInfo(t, sup, "a"); a.State() != service.Running || a.starts.Load() != 2 || info.Terminated {
		t.Errorf("after RestartChild: a %v starts %d, %+v", a.State(), a.starts.Load(), info)
	}
	c.Crash(errBoom) // restart 2 of 2
	ev.wait(t, "sup", supervisor.ChildRestarted, "c", 2)
	if sup.State() != service.Running {
		t.Fatalf("RestartChild counted toward the intensity: supervisor %v", sup.State())
	}

	// Remove stops and drops c; a second Remove, or an unknown ID, is
	// ErrNoChild.
	must(t, sup.Remove(ctx, c))
	if c.State() != service.Shutdown || c.Node().Parent() != nil || !slices.Equal(childIDs(sup), []string{"a", "b"}) {
		t.Errorf("after Remove: c %v, children %v", c.State(), childIDs(sup))
	}
	ev.wait(t, "sup", supervisor.ChildRemoved, "c", 1)
	if err := sup.Remove(ctx, c); !errors.Is(err, supervisor.ErrNoChild) {
		t.Errorf("second Remove: %v, want ErrNoChild", err)
	}
	if err := sup.Terminate(ctx, "nope"); !errors.Is(err, supervisor.ErrNoChild) {
		t.Errorf("Terminate of an unknown ID: %v, want ErrNoChild", err)
	}
	if err := sup.RestartChild(ctx, "nope"); !errors.Is(err, supervisor.ErrNoChild) {
		t.Errorf("RestartChild of an unknown ID: %v, want ErrNoChild", err)
	}
}

// Stop from outside is a directly supervised child's normal exit (OTP's
// gen_server:stop): a Permanent child comes back, a Transient one stays
// down (its spec kept), a Temporary one is removed.
func TestStopFromOutsideIsNormalExit(t *testing.T) {
	for _, tc := range []struct {
		typ              strategy.RestartType
		restarted, kept  bool
		wantState        service.State
		wantRestartCount int
	}{
		{strategy.Permanent, true, true, service.Running, 1},
		{strategy.Transient, false, true, service.Shutdown, 0},
		{strategy.Temporary, false, false, service.Shutdown, 0},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			ctx := testCtx(t)
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{})
			a := newNode("a", nil)
			must(t, sup.Add(context.Background(), a, supervisor.ChildSpec{Restart: tc.typ}))
			must(t, service.Start(ctx, sup))
			defer stopAll(t, sup)

			must(t, a.Stop(ctx))
			ev.wait(t, "sup", supervisor.ChildExited, "a", 1)
			switch {
			case tc.restarted:
				ev.wait(t, "sup", supervisor.ChildRestarted, "a", 1)
			case !tc.kept:
				ev.wait(t, "sup", supervisor.ChildRemoved, "a", 1)
			}
			if a.State() != tc.wantState || a.RestartCount() != tc.wantRestartCount {
				t.Errorf("a: %v RestartCount %d, want %v %d", a.State(), a.RestartCount(), tc.wantState, tc.wantRestartCount)
			}
			if got := len(sup.Children()) == 1; got != tc.kept {
				t.Errorf("children %v, kept=%v", childIDs(sup), tc.kept)
			}
			if n := ev.count("sup", supervisor.ChildCrashed, ""); n != 0 {
				t.Errorf("a stop reported as %d crashes", n)
			}
		})
	}
}

// context.Canceled returned by a child on its own is a crash; returning
// ctx.Err() after being stopped is a clean stop.
func TestContextCanceledOnItsOwnIsACrash(t *testing.T) {
	ctx := testCtx(t)
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{})
	runs := make(chan int, 4)
	release := make(chan struct{})
	n := 0
	f := service.Func("f", func(ctx context.Context) error {
		n++ // runs never overlap
		runs <- n
		if n == 1 {
			<-release               // once the tree is up
			return context.Canceled // not because it was stopped
		}
		<-ctx.Done()
		return ctx.Err()
	})
	f.Configure(service.Config{Logger: &quiet})
	must(t, sup.Add(context.Background(), f, supervisor.ChildSpec{ID: "f", Restart: strategy.Transient}))
	must(t, service.Start(ctx, sup))
	close(release)

	crashes := ev.wait(t, "sup", supervisor.ChildCrashed, "f", 1)
	if !errors.Is(crashes[0].Reason, context.Canceled) {
		t.Errorf("crash reason %v", crashes[0].Reason)
	}
	ev.wait(t, "sup", supervisor.ChildRestarted, "f", 1) // Transient: a crash restarts it
	<-runs
	<-runs
	if err := sup.Stop(ctx); err != nil {
		t.Errorf("stop: %v (ctx.Err() after a stop is not an error)", err)
	}
	if f.State() != service.Shutdown || f.CrashReason() != nil {
		t.Errorf("f after stop: %v %v", f.State(), f.CrashReason())
	}
	if n := ev.count("sup", supervisor.ChildCrashed, "f"); n != 1 {
		t.Errorf("%d crash events, want 1", n)
	}
}
