package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// togetherLeaf is a child with one task waiting for its ctx; its OnStop
// records, for each leaf of its group, whether that leaf's run was
// cancelled and its state, when the hook runs.
type togetherLeaf struct {
	service.Base
	name    string
	group   *togetherGroup
	stopErr error
	onStop  func() // called first in OnStop, if set
}

type togetherGroup struct {
	mu     sync.Mutex
	leaves []*togetherLeaf
	stops  []string                     // OnStop calls, in order
	seen   map[string]string            // at the first OnStop of a round: "cancelled state" of each leaf
	seenAt map[string]map[string]string // the same at each leaf's OnStop (its last)
	shut   map[string]int               // OnShutdown calls per leaf
	ran    atomic.Int32                 // tasks entered
}

func newTogetherGroup(n int) *togetherGroup {
	g := &togetherGroup{shut: map[string]int{}}
	for i := range n {
		l := &togetherLeaf{name: fmt.Sprintf("c%d", i), group: g}
		l.Configure(service.Config{Name: l.name, Logger: &quiet})
		g.leaves = append(g.leaves, l)
	}
	return g
}

func (l *togetherLeaf) OnStart(context.Context) error {
	return l.Go("wait", func(ctx context.Context) error {
		l.group.ran.Add(1)
		<-ctx.Done()
		return ctx.Err()
	})
}

func (l *togetherLeaf) OnStop(context.Context) error {
	if l.onStop != nil {
		l.onStop()
	}
	g := l.group
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stops = append(g.stops, l.name)
	now := map[string]string{}
	for _, x := range g.leaves {
		cancelled := "running"
		select {
		case <-x.Done():
			cancelled = "cancelled"
		default:
		}
		now[x.name] = cancelled + " " + x.State().String()
	}
	if g.seen == nil {
		g.seen = now
	}
	if g.seenAt == nil {
		g.seenAt = map[string]map[string]string{}
	}
	g.seenAt[l.name] = now
	return l.stopErr
}

func (l *togetherLeaf) OnShutdown(context.Context) error {
	l.group.mu.Lock()
	defer l.group.mu.Unlock()
	l.group.shut[l.name]++
	return nil
}

// TestStopTogetherOrder: with Spec.StopTogether, when several children
// stop at once (the supervisor's Stop, a group restart), every one of them
// is Stopping with its run cancelled before the first OnStop runs; the
// OnStops still run one after another in reverse start order. Without it,
// a child is not cancelled before the ones after it have stopped.
func TestStopTogetherOrder(t *testing.T) {
	type how struct {
		name  string
		strat strategy.Strategy
		crash bool // crash c0 (a group restart of all four) instead of Stop
	}
	hows := []how{
		{"Stop", strategy.OneForOne, false},
		{"OneForAll restart", strategy.OneForAll, true},
		{"RestForOne restart", strategy.RestForOne, true},
	}
	for _, h := range hows {
		for _, together := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/together=%v", h.name, together), func(t *testing.T) {
				ctx := bg(t)
				ev := newEvents()
				sup := newSup(supervisor.Spec{Strategy: h.strat, StopTogether: together}, ev)
				g := newTogetherGroup(4)
				for _, l := range g.leaves {
					must(t, sup.Add(ctx, l, supervisor.ChildSpec{ID: l.name}))
				}
				must(t, service.Start(ctx, sup))
				defer func() { _ = sup.Stop(ctx) }()
				if h.crash {
					g.leaves[0].Crash(errBoom)
					for _, l := range g.leaves {
						ev.wait(t, supervisor.ChildRestarted, l.name, 1)
					}
				} else {
					must(t, sup.Stop(ctx))
				}

				g.mu.Lock()
				defer g.mu.Unlock()
				if want := []string{"c3", "c2", "c1", "c0"}; !slices.Equal(g.stops[:min(4, len(g.stops))], want) {
					t.Errorf("OnStop order %v, want %v", g.stops, want)
				}
				for i, l := range g.leaves {
					got := g.seen[l.name]
					want := "running running"
					switch {
					case i == 3:
						want = "cancelled stopping" // the first to stop
					case together:
						want = "cancelled stopping"
					case h.crash && i == 0:
						want = "cancelled crashed"
					}
					if got != want {
						t.Errorf("at c3's OnStop, %s was %q, want %q", l.name, got, want)
					}
				}
				if h.crash {
					for _, l := range g.leaves {
						if st, n := l.State(), l.RestartCount(); st != service.Running || n != 1 {
							t.Errorf("%s: %v after %d restarts, want running after 1", l.name, st, n)
						}
					}
					return
				}
				for _, l := range g.leaves {
					if st := l.State(); st != service.Shutdown || g.shut[l.name] != 1 {
						t.Errorf("%s: %v, OnShutdown ran %d times; want shutdown, once", l.name, st, g.shut[l.name])
					}
				}
			})
		}
	}
}

// TestStopTogetherBudgetSpent: the supervisor's goroutine hangs in OnEvent
// during a group restart's stops, while (with StopTogether) the children
// not yet reached are Stopping, their steps waiting for that goroutine.
// The supervisor's Stop returns at its budget, having run those steps
// itself: every child Shutdown, its OnShutdown called once, the hung
// goroutine named. Once OnEvent returns, nothing runs twice.
func TestStopTogetherBudgetSpent(t *testing.T) {
	for _, together := range []bool{false, true} {
		t.Run(fmt.Sprintf("together=%v", together), func(t *testing.T) {
			ctx := bg(t)
			h := newR18Hook(supervisor.Spec{
				Service:      service.Config{Name: "sup", Logger: &quiet, StopTimeout: 200 * time.Millisecond},
				Strategy:     strategy.OneForAll,
				StopTogether: together,
			}, func(e supervisor.Event) bool { return e.Kind == supervisor.StopFailed && e.Child == "c2" })
			defer h.unhang()
			sup := h.sup
			g := newTogetherGroup(3)
			g.leaves[2].stopErr = errors.New("c2 failed to stop")
			for _, l := range g.leaves {
				must(t, sup.Add(ctx, l, supervisor.ChildSpec{ID: l.name}))
			}
			must(t, service.Start(ctx, sup))

			g.leaves[0].Crash(errBoom)
			select {
			case <-h.hung:
			case <-time.After(20 * time.Second):
				t.Fatal("OnEvent never heard c2's StopFailed")
			}
			want := service.Running
			if together {
				want = service.Stopping
			}
			if st := g.leaves[1].State(); st != want {
				t.Errorf("c1 while the goroutine hangs: %v, want %v", st, want)
			}

			began := time.Now()
			err := sup.Stop(ctx)
			if d := time.Since(began); d > 5*time.Second {
				t.Errorf("Stop took %v: its budget is 200ms", d)
			}
			if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), "still busy") {
				t.Errorf("Stop: %v, want ErrStopTimeout naming the busy goroutine", err)
			}
			for _, l := range g.leaves {
				if st := l.State(); st != service.Shutdown {
					t.Errorf("%s: %v after the supervisor's Stop, want shutdown", l.name, st)
				}
			}
			h.unhang()
			// The goroutine goes on: the stops it had left are done.
			stopUntilReturned(t, ctx, sup, 10*time.Second)
			g.mu.Lock()
			defer g.mu.Unlock()
			for _, l := range g.leaves {
				if n := g.shut[l.name]; n != 1 {
					t.Errorf("%s: OnShutdown ran %d times, want once", l.name, n)
				}
			}
		})
	}
}

// TestStopTogetherNested: a child that is itself a supervisor is cancelled
// with its siblings, but its own children stop in its turn, as its own
// Spec says (here: not together).
func TestStopTogetherNested(t *testing.T) {
	ctx := bg(t)
	parent := newSup(supervisor.Spec{Service: service.Config{Name: "parent"}, StopTogether: true}, nil)
	nested := newSup(supervisor.Spec{Service: service.Config{Name: "nested"}}, nil)
	g := newTogetherGroup(3) // c0, c1 under nested; c2 under parent, after nested
	must(t, nested.Add(ctx, g.leaves[0]))
	must(t, nested.Add(ctx, g.leaves[1]))
	must(t, parent.Add(ctx, nested))
	must(t, parent.Add(ctx, g.leaves[2]))
	must(t, service.Start(ctx, parent))
	var nestedAt service.State
	var nestedDone bool
	g.leaves[2].onStop = func() {
		nestedAt = nested.State()
		select {
		case <-nested.Done():
			nestedDone = true
		default:
		}
	}
	must(t, parent.Stop(ctx))
	g.mu.Lock()
	defer g.mu.Unlock()
	if nestedAt != service.Stopping || !nestedDone {
		t.Errorf("at c2's OnStop the nested supervisor was %v (cancelled: %v), want stopping and cancelled", nestedAt, nestedDone)
	}
	if want := []string{"c2", "c1", "c0"}; !slices.Equal(g.stops, want) {
		t.Errorf("OnStop order %v, want %v", g.stops, want)
	}
	for name, want := range map[string]string{"c0": "running running", "c1": "running running", "c2": "cancelled stopping"} {
		if got := g.seen[name]; got != want {
			t.Errorf("at c2's OnStop, %s was %q, want %q", name, got, want)
		}
	}
	if got := g.seenAt["c1"]["c0"]; got != "running running" {
		t.Errorf("at c1's OnStop, c0 was %q: the nested supervisor stops its children one after another", got)
	}
}

// stopUntilReturned stops sup until its Stop returns nil: a Stop of a
// stopped supervisor names, after a few milliseconds' grace, the goroutine
// an earlier Stop abandoned, until that goroutine has returned. It fails
// the test after bound.
func stopUntilReturned(t *testing.T, ctx context.Context, sup *supervisor.Supervisor, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for err := sup.Stop(ctx); err != nil; err = sup.Stop(ctx) {
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor's goroutine never returned: %v", err)
		}
	}
}
