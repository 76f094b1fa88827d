package supervisor_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// eventObserver hands supervisor events to an events recorder, and counts
// state changes.
type eventObserver struct {
	ev      *events
	mu      sync.Mutex
	sups    []string
	changes int
}

func (o *eventObserver) StateChanged(service.Service, service.State, service.State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.changes++
}

func (o *eventObserver) SupervisorEvent(s *supervisor.Supervisor, e supervisor.Event) {
	o.mu.Lock()
	if e.Supervisor != s.ShortLabel() {
		o.sups = append(o.sups, "mismatch:"+e.Supervisor)
	} else if !slices.Contains(o.sups, e.Supervisor) {
		o.sups = append(o.sups, e.Supervisor)
	}
	o.mu.Unlock()
	o.ev.hook(e)
}

var _ supervisor.EventObserver = (*eventObserver)(nil)

// An EventObserver attached above nested supervisors hears the events of
// each, with Supervisor set, whether or not they have an OnEvent; one
// attached to the inner supervisor hears only its events.
func TestEventObserver(t *testing.T) {
	ctx := bg(t)
	inner := newSup(supervisor.Spec{Service: service.Config{Name: "inner"}}, nil)
	outerEv := newEvents()
	outer := newSup(supervisor.Spec{Service: service.Config{Name: "outer"}}, outerEv)
	a, b := newWorker("a"), newWorker("b")
	must(t, inner.Add(ctx, a))
	must(t, outer.Add(ctx, inner))
	must(t, outer.Add(ctx, b))

	all := &eventObserver{ev: newEvents()}
	detach, err := service.Observe(outer, all)
	must(t, err)
	defer detach()
	mine := &eventObserver{ev: newEvents()}
	detachMine, err := service.Observe(inner, mine)
	must(t, err)
	defer detachMine()

	must(t, service.Start(ctx, outer))
	a.Crash(errBoom)
	b.Crash(errBoom)
	all.ev.wait(t, supervisor.ChildRestarted, "a", 1)
	all.ev.wait(t, supervisor.ChildRestarted, "b", 1)
	mine.ev.wait(t, supervisor.ChildRestarted, "a", 1)
	outerEv.wait(t, supervisor.ChildRestarted, "b", 1)
	must(t, outer.Stop(ctx))

	if n := mine.ev.count(supervisor.ChildCrashed, "b"); n != 0 {
		t.Errorf("the inner supervisor's observer heard of b's crash %d times", n)
	}
	if n := all.ev.count(supervisor.ChildCrashed, ""); n != 2 {
		t.Errorf("ChildCrashed events: %d, want 2 (%v)", n, all.ev)
	}
	all.mu.Lock()
	defer all.mu.Unlock()
	slices.Sort(all.sups)
	if !slices.Equal(all.sups, []string{"inner", "outer"}) {
		t.Errorf("supervisors heard: %v", all.sups)
	}
	if all.changes == 0 {
		t.Error("no state change heard")
	}
}

// An observer whose SupervisorEvent panics is detached; the supervisor
// goes on restarting.
type panickyEvents struct{ calls int }

func (p *panickyEvents) StateChanged(service.Service, service.State, service.State) {}
func (p *panickyEvents) SupervisorEvent(*supervisor.Supervisor, supervisor.Event) {
	p.calls++
	panic("observer bug")
}

func TestEventObserverPanicDetaches(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	sup := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, ev)
	a := newWorker("a")
	must(t, sup.Add(ctx, a))
	p := &panickyEvents{}
	detach, err := service.Observe(sup, p)
	must(t, err)
	defer detach()
	must(t, service.Start(ctx, sup))
	for i := 1; i <= 2; i++ {
		a.Crash(errBoom)
		ev.wait(t, supervisor.ChildRestarted, "a", i)
	}
	must(t, sup.Stop(context.Background()))
	if p.calls != 1 {
		t.Errorf("panicking observer called %d times, want 1", p.calls)
	}
}
