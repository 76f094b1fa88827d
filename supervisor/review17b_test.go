package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

var r17bBackoff = strategy.Backoff{Min: time.Second, Max: 10 * time.Second, NoJitter: true}

// TestReview17bReplacementGroupBackoff: Replacement children under a group
// strategy with backoff are replaced once each after the backoff; the old
// instances are stopped and detached, the fresh ones run under the IDs.
func TestReview17bReplacementGroupBackoff(t *testing.T) {
	for _, st := range []strategy.Strategy{strategy.OneForAll, strategy.RestForOne} {
		for _, together := range []bool{false, true} {
			name := st.String()
			if together {
				name += "/together"
			}
			t.Run(name, func(t *testing.T) {
				ctx := bg(t)
				clk := clock.NewFake(time.Unix(1000, 0))
				ev := newEvents()
				s := newSup(supervisor.Spec{
					Service: service.Config{Name: "sup", Clock: clk}, Strategy: st,
					MaxRestarts: 10, Backoff: r17bBackoff, StopTogether: together,
				}, ev)
				var made atomic.Int32
				factory := func(id string) func() service.Service {
					return func() service.Service { made.Add(1); return newWorker(id) }
				}
				a0, b0 := newWorker("a"), newWorker("b")
				must(t, s.Add(ctx, a0, supervisor.ChildSpec{ID: "a", Replacement: factory("a")}))
				must(t, s.Add(ctx, b0, supervisor.ChildSpec{ID: "b", Replacement: factory("b")}))
				must(t, service.Start(ctx, s))

				a0.Crash(errBoom)
				ev.wait(t, supervisor.BackoffStarted, "b", 1)
				clk.Advance(r17bBackoff.Max)
				ev.wait(t, supervisor.ChildRestarted, "a", 1)
				ev.wait(t, supervisor.ChildRestarted, "b", 1)
				clk.Settle()
				settle(t, ctx, s, ev)
				if n := made.Load(); n != 2 {
					t.Fatalf("Replacement called %d times, want 2; events %s", n, ev)
				}
				for _, old := range []*worker{a0, b0} {
					if old.State() != service.Shutdown || old.Node().Parent() != nil {
						t.Errorf("old %s: state %v, parent %v", old.ShortLabel(), old.State(), old.Node().Parent())
					}
				}
				for _, id := range []string{"a", "b"} {
					c := s.Child(id)
					if c == nil || c.State() != service.Running || c.Node().Parent() != s.Node() {
						t.Fatalf("child %s after replacement: %v", id, c)
					}
				}
				// The fresh a crashes in turn: handled again.
				s.Child("a").Crash(errBoom)
				ev.wait(t, supervisor.BackoffStarted, "a", 2)
				clk.Advance(r17bBackoff.Max)
				ev.wait(t, supervisor.ChildRestarted, "a", 2)
				clk.Settle()
				settle(t, ctx, s, ev)
				if s.Child("a").State() != service.Running {
					t.Fatalf("a: %v", s.Child("a").State())
				}
				must(t, s.Stop(ctx))
				for _, ci := range s.Children() {
					if ci.State != service.Shutdown {
						t.Errorf("%s %v after Stop", ci.ID, ci.State)
					}
				}
			})
		}
	}
}

// TestReview17bTerminateDuringBackoff: a child terminated while it waits
// out a backoff stays down when the delay passes; RestartChild brings it
// back once, and the old delay does not start it twice.
func TestReview17bTerminateDuringBackoff(t *testing.T) {
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		t.Run(st.String(), func(t *testing.T) {
			ctx := bg(t)
			clk := clock.NewFake(time.Unix(1000, 0))
			ev := newEvents()
			s := newSup(supervisor.Spec{
				Service: service.Config{Name: "sup", Clock: clk}, Strategy: st,
				MaxRestarts: 10, Backoff: r17bBackoff,
			}, ev)
			a, b := newWorker("a"), newWorker("b")
			must(t, s.Add(ctx, a))
			must(t, s.Add(ctx, b))
			must(t, service.Start(ctx, s))
			a.Crash(errBoom)
			ev.wait(t, supervisor.BackoffStarted, "a", 1)
			must(t, s.Terminate(ctx, "a"))
			clk.Advance(r17bBackoff.Max)
			clk.Settle()
			settle(t, ctx, s, ev)
			if a.Starts() != 1 || a.State() == service.Running {
				t.Fatalf("terminated a restarted: starts %d, %v; events %s", a.Starts(), a.State(), ev)
			}
			if st != strategy.OneForOne && b.State() != service.Running {
				t.Fatalf("b %v; events %s", b.State(), ev)
			}
			must(t, s.RestartChild(ctx, "a"))
			clk.Advance(time.Minute)
			clk.Settle()
			settle(t, ctx, s, ev)
			if a.Starts() != 2 || a.State() != service.Running {
				t.Fatalf("a: starts %d, %v; events %s", a.Starts(), a.State(), ev)
			}
			must(t, s.Stop(ctx))
		})
	}
}

// TestReview17bNestedThreeLevels: a leaf supervisor (rest-for-one) that
// gives up is restarted by its parent (one-for-all with backoff) under the
// root (one-for-one); every worker runs again; the root's Stop stops all.
func TestReview17bNestedThreeLevels(t *testing.T) {
	for _, together := range []bool{false, true} {
		t.Run(map[bool]string{false: "ordered", true: "together"}[together], func(t *testing.T) {
			ctx := bg(t)
			clk := clock.NewFake(time.Unix(1000, 0))
			evRoot, evMid, evLeaf := newEvents(), newEvents(), newEvents()
			root := newSup(supervisor.Spec{Service: service.Config{Name: "root", Clock: clk}, MaxRestarts: 5, StopTogether: together}, evRoot)
			mid := newSup(supervisor.Spec{Service: service.Config{Name: "mid", Clock: clk}, Strategy: strategy.OneForAll,
				MaxRestarts: 5, Backoff: r17bBackoff, StopTogether: together}, evMid)
			leaf := newSup(supervisor.Spec{Service: service.Config{Name: "leaf", Clock: clk}, Strategy: strategy.RestForOne,
				MaxRestarts: 1, Window: time.Hour, StopTogether: together}, evLeaf)
			w1, w2, w3, m2 := newWorker("w1"), newWorker("w2"), newWorker("w3"), newWorker("m2")
			for _, w := range []*worker{w1, w2, w3} {
				must(t, leaf.Add(ctx, w))
			}
			must(t, mid.Add(ctx, leaf))
			must(t, mid.Add(ctx, m2))
			must(t, root.Add(ctx, mid))
			must(t, service.Start(ctx, root))

			w2.Crash(errBoom) // leaf restarts w2, w3
			evLeaf.wait(t, supervisor.ChildRestarted, "w3", 1)
			w2.Crash(errBoom) // over the limit: leaf gives up
			evLeaf.wait(t, supervisor.MaxRestartsExceeded, "", 1)
			evMid.wait(t, supervisor.BackoffStarted, "m2", 1)
			clk.Advance(r17bBackoff.Max)
			evMid.wait(t, supervisor.ChildRestarted, "m2", 1)
			clk.Settle()
			settle(t, ctx, mid, evMid)
			for _, s := range []service.Service{root, mid, leaf, w1, w2, w3, m2} {
				if s.State() != service.Running {
					t.Errorf("%s %v", s.Label(), s.State())
				}
			}
			if evRoot.count(supervisor.ChildCrashed, "") != 0 {
				t.Errorf("root saw a crash: %s", evRoot)
			}
			must(t, root.Stop(ctx))
			for _, s := range []service.Service{root, mid, leaf, w1, w2, w3, m2} {
				if s.State() != service.Shutdown {
					t.Errorf("%s %v after Stop", s.Label(), s.State())
				}
			}
		})
	}
}

// TestReview17bStopDuringBackoffNested: the root's Stop while a nested
// supervisor waits out a backoff returns at once and nothing restarts
// after it.
func TestReview17bStopDuringBackoffNested(t *testing.T) {
	ctx := bg(t)
	clk := clock.NewFake(time.Unix(1000, 0))
	ev := newEvents()
	root := newSup(supervisor.Spec{Service: service.Config{Name: "root", Clock: clk}}, nil)
	mid := newSup(supervisor.Spec{Service: service.Config{Name: "mid", Clock: clk}, Strategy: strategy.RestForOne, MaxRestarts: 5, Backoff: r17bBackoff}, ev)
	a, b := newWorker("a"), newWorker("b")
	must(t, mid.Add(ctx, a))
	must(t, mid.Add(ctx, b))
	must(t, root.Add(ctx, mid))
	must(t, service.Start(ctx, root))
	a.Crash(errBoom)
	ev.wait(t, supervisor.BackoffStarted, "b", 1)
	must(t, returnsWithin(t, 5*time.Second, func() error { return root.Stop(ctx) }))
	clk.Advance(time.Minute)
	clk.Settle()
	for _, s := range []service.Service{root, mid, a, b} {
		if s.State() != service.Shutdown {
			t.Errorf("%s %v", s.Label(), s.State())
		}
	}
	if a.Starts() != 1 || b.Starts() != 1 {
		t.Errorf("starts a=%d b=%d", a.Starts(), b.Starts())
	}
}

// TestReview17bReplacementReturnsOld: a Replacement that returns the very
// instance it replaces (a factory that reuses it) is refused with a clear
// error at each attempt: the supervisor gives up (ErrMaxRestarts naming
// it), nothing hangs, the tree stays consistent and stops.
func TestReview17bReplacementReturnsOld(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}, MaxRestarts: 3}, ev)
	w := newWorker("w")
	must(t, s.Add(ctx, w, supervisor.ChildSpec{ID: "w", Replacement: func() service.Service { return w }}))
	must(t, service.Start(ctx, s))
	w.Crash(errBoom)
	ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)
	if err := s.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) || !strings.Contains(err.Error(), "replace") {
		t.Errorf("supervisor's crash reason %v, want ErrMaxRestarts naming the replace", err)
	}
	if p := w.Node().Parent(); p != s.Node() {
		t.Errorf("w's node parent %v, want the supervisor's", p)
	}
	if got := s.Child("w"); got != service.Service(w) {
		t.Errorf("Child(w) = %v", got)
	}
	_ = returnsWithin(t, 10*time.Second, func() error { return s.Stop(ctx) })
	if st := w.State(); st != service.Shutdown {
		t.Errorf("w %v after Stop", st)
	}
}

// TestReview17bGrandchildRestartAfterTreeStopped: the child of a
// supervised Base (not itself supervised) restarted by hand once the tree
// has stopped is refused, like a supervised child's Restart: it must not
// run, orphaned, after its tree.
func TestReview17bGrandchildRestartAfterTreeStopped(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
	p, k := newWorker("p"), newWorker("k")
	must(t, p.AddDependency(k))
	must(t, s.Add(ctx, p))
	must(t, service.Start(ctx, s))
	must(t, s.Stop(ctx))
	if err := k.Restart(ctx); !errors.Is(err, service.ErrStopping) {
		t.Errorf("k.Restart after the tree stopped: %v, want ErrStopping", err)
	}
	if st := k.State(); st != service.Shutdown {
		t.Errorf("k %v", st)
		_ = k.Stop(ctx)
	}
}

var (
	_ = errors.Is
	_ context.Context
)

// TestReview17bChaos: under every strategy, with and without backoff and
// StopTogether, goroutines crash children, restart and stop them by
// themselves and by ID, terminate, remove and add them, while the
// supervisor is stopped. The Stop returns within a generous bound, every
// call returns, and nothing of the tree runs afterwards.
func TestReview17bChaos(t *testing.T) {
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		for _, backs := range []bool{false, true} {
			for _, together := range []bool{false, true} {
				name := fmt.Sprintf("%v/backoff=%v/together=%v", st, backs, together)
				t.Run(name, func(t *testing.T) { r17bChaos(t, st, backs, together) })
			}
		}
	}
}

func r17bChaos(t *testing.T, st strategy.Strategy, backs, together bool) {
	ctx := bg(t)
	spec := supervisor.Spec{Service: service.Config{Name: "sup"}, Strategy: st,
		MaxRestarts: 1000, Window: time.Hour, StopTogether: together}
	if backs {
		spec.Backoff = strategy.Backoff{Min: 50 * time.Microsecond, Max: time.Millisecond, NoJitter: true}
	}
	s := newSup(spec, nil)
	const n = 5
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("c%d", i)
		cs := supervisor.ChildSpec{ID: ids[i]}
		switch i {
		case 1:
			cs.Restart = strategy.Transient
		case 2:
			cs.Replacement = func() service.Service { return newWorker("") }
		}
		var svc service.Service = newWorker("")
		switch i {
		case 3:
			svc = service.Func("", func(ctx context.Context) error { <-ctx.Done(); return nil })
		case 4: // a nested supervisor, and a Base with a child of its own
			inner := newSup(supervisor.Spec{Service: service.Config{Name: "inner"}, Strategy: strategy.OneForAll, MaxRestarts: 1000, Window: time.Hour}, nil)
			p := newWorker("p")
			must(t, p.AddDependency(newWorker("k")))
			must(t, inner.Add(ctx, p))
			must(t, inner.Add(ctx, newWorker("q")))
			svc = inner
		}
		must(t, s.Add(ctx, svc, cs))
	}
	must(t, service.Start(ctx, s))

	stop, enough := make(chan struct{}), make(chan struct{})
	var ops atomic.Int32
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 17))
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				id := ids[rnd.IntN(n)]
				c := s.Child(id)
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				switch rnd.IntN(8) {
				case 0, 1:
					if c != nil {
						c.Crash(errBoom)
					}
				case 2:
					if c != nil {
						_ = c.Restart(cctx)
					}
				case 3:
					if c != nil {
						_ = c.Stop(cctx)
					}
				case 4:
					_ = s.Terminate(cctx, id)
				case 5:
					_ = s.RestartChild(cctx, id)
				case 6:
					extra := newWorker(fmt.Sprintf("x%d-%d", g, k))
					if s.Add(cctx, extra, supervisor.ChildSpec{Restart: strategy.Temporary}) == nil {
						_ = s.Remove(cctx, extra)
					}
				case 7:
					_ = s.Children()
				}
				cancel()
				if ops.Add(1) == 600 {
					close(enough)
				}
			}
		})
	}
	recv(t, enough, "600 operations")
	began := time.Now()
	err := returnsWithin(t, 15*time.Second, func() error { return s.Stop(ctx) })
	if d := time.Since(began); d > 11*time.Second {
		t.Errorf("Stop took %v", d)
	}
	close(stop)
	wg.Wait()
	if err != nil && !errors.Is(err, service.ErrStopTimeout) {
		t.Logf("Stop: %v", err)
	}
	if s.State() != service.Shutdown {
		t.Errorf("supervisor %v", s.State())
	}
	var left []string
	s.Node().Walk(func(nd *graph.Node, _ int) bool {
		if svc, ok := nd.Value().(service.Service); ok {
			if st := svc.State(); st == service.Running || st == service.Starting || st == service.Stopping {
				left = append(left, svc.Label()+" "+st.String())
			}
		}
		return true
	})
	for _, ci := range s.Children() {
		if st := ci.State; st == service.Running || st == service.Starting || st == service.Stopping {
			left = append(left, ci.ID+" "+st.String())
		}
	}
	if len(left) > 0 {
		t.Errorf("still running after the supervisor's Stop: %v", left)
		for _, ci := range s.Children() {
			_ = ci.Service.Stop(context.Background())
		}
	}
}
