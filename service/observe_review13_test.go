package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// eventFilter is a StateFilter that is also a StopObserver (changes) and
// a supervisor.EventObserver: it counts the supervisor events it hears.
type eventFilter struct {
	filtered
	emu    sync.Mutex
	events []supervisor.EventKind
}

func (e *eventFilter) SupervisorEvent(_ *supervisor.Supervisor, ev supervisor.Event) {
	e.emu.Lock()
	defer e.emu.Unlock()
	e.events = append(e.events, ev.Kind)
}

var _ supervisor.EventObserver = (*eventFilter)(nil)

// TestReview13StateFilterEdges: duplicate states count once, out-of-range
// ones are ignored, and a filter that wants no state still hears of the
// stops and of the supervisors' events (StateFilter filters state changes
// only), also when it hears of a state of the changes they follow.
func TestReview13StateFilterEdges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		states []service.State
		want   string // w's changes over a start, a crash and its restart, a stop
	}{
		{"none", nil, ""},
		{"empty", []service.State{}, ""},
		{"duplicates", []service.State{service.Crashed, service.Crashed, -5, 99, service.Crashed}, "running>crashed"},
		{"crashed and running", []service.State{service.Running, service.Crashed}, "starting>running running>crashed starting>running"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			w := service.Func("w", func(ctx context.Context) error { <-ctx.Done(); return nil })
			w.Configure(service.Config{Name: "w", Logger: &quiet})
			sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
			must(t, sup.Add(ctx, w))
			f := &eventFilter{filtered: filtered{states: tc.states}}
			detach, err := service.Observe(sup, f)
			must(t, err)
			defer detach()
			restarted := make(chan struct{})
			ev := &eventWaiter{kind: supervisor.ChildRestarted, ch: restarted}
			detachW, err := service.Observe(sup, ev)
			must(t, err)
			defer detachW()
			must(t, service.Start(ctx, sup))
			w.Crash(errBoom)
			select {
			case <-restarted:
			case <-ctx.Done():
				t.Fatal("no restart")
			}
			must(t, sup.Stop(ctx))
			seen, stops := f.take()
			if got := of("w", seen); got != tc.want {
				t.Errorf("w's changes: %q, want %q", got, tc.want)
			}
			if len(stops) == 0 {
				t.Error("no Stopped call")
			}
			f.emu.Lock()
			defer f.emu.Unlock()
			if !containsKind(f.events, supervisor.ChildCrashed) || !containsKind(f.events, supervisor.ChildRestarted) {
				t.Errorf("supervisor events heard: %v", f.events)
			}
		})
	}
}

// eventWaiter closes ch at the first event of kind.
type eventWaiter struct {
	kind supervisor.EventKind
	once sync.Once
	ch   chan struct{}
}

func (*eventWaiter) ObservedStates() []service.State { return nil }

func (*eventWaiter) StateChanged(service.Service, service.State, service.State) {}

func (e *eventWaiter) SupervisorEvent(_ *supervisor.Supervisor, ev supervisor.Event) {
	if ev.Kind == e.kind {
		e.once.Do(func() { close(e.ch) })
	}
}

func containsKind(ks []supervisor.EventKind, k supervisor.EventKind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// panickyFilter's ObservedStates panics.
type panickyFilter struct{ changes }

func (*panickyFilter) ObservedStates() []service.State { panic("filter bug") }

// TestReview13StateFilterPanics: a StateFilter whose ObservedStates
// panics is not attached, and Observe says so with an error (as for any
// other unusable observer) instead of panicking in its caller; the tree
// and other observers go on.
func TestReview13StateFilterPanics(t *testing.T) {
	ctx := bg(t)
	root, _ := tree(t, &recorder{})
	p := &panickyFilter{}
	var detach func()
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Observe panicked: %v", v)
			}
		}()
		detach, err = service.Observe(root, p)
	}()
	if detach != nil || !errors.Is(err, service.ErrBadArgument) || !errors.Is(err, service.ErrPanic) {
		t.Fatalf("Observe: detach %v, err %v; want ErrBadArgument and ErrPanic", detach != nil, err)
	}
	c := &changes{}
	detachC, err := service.Observe(root, c)
	must(t, err)
	defer detachC()
	must(t, service.Start(ctx, root))
	must(t, root.Stop(ctx))
	if seen, _ := p.take(); len(seen) != 0 {
		t.Errorf("the filter that panicked heard %v", seen)
	}
	if seen, _ := c.take(); of("root", seen) != "init>starting starting>running running>stopping stopping>shutdown" {
		t.Errorf("other observer: %v", seen)
	}
}
