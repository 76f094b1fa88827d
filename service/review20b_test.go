package service_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// Review 20b: trees of plain Base services, no supervisor anywhere.

// r20bNode is a Base whose hooks are function fields (nil: no-op), every
// hook included, Dependencies too.
type r20bNode struct {
	service.Base
	name                                 string
	deps                                 func() []service.Service
	onFirstStart, onStart, onStarted     func(ctx context.Context) error
	onStop, onShutdown, onRestart        func(ctx context.Context) error
	starts, stops, restarts, firstStarts atomic.Int32
}

func newR20bNode(name string) *r20bNode {
	n := &r20bNode{name: name}
	n.Configure(service.Config{Name: name, Logger: &quiet})
	return n
}

func (n *r20bNode) Dependencies() []service.Service {
	if n.deps == nil {
		return nil
	}
	return n.deps()
}
func (n *r20bNode) OnFirstStart(ctx context.Context) error {
	n.firstStarts.Add(1)
	return callIf(n.onFirstStart, ctx)
}
func (n *r20bNode) OnStart(ctx context.Context) error {
	n.starts.Add(1)
	return callIf(n.onStart, ctx)
}
func (n *r20bNode) OnStarted(ctx context.Context) error { return callIf(n.onStarted, ctx) }
func (n *r20bNode) OnStop(ctx context.Context) error {
	n.stops.Add(1)
	return callIf(n.onStop, ctx)
}
func (n *r20bNode) OnShutdown(ctx context.Context) error { return callIf(n.onShutdown, ctx) }
func (n *r20bNode) OnRestart(ctx context.Context) error {
	n.restarts.Add(1)
	return callIf(n.onRestart, ctx)
}

// TestReview20bDependenciesPanic: a panic in Dependencies() fails the
// start like a start hook's (a *PanicError, the service back in Init, no
// transition left in progress), on the caller's goroutine and on a
// parent's children step; the next attempt calls it again.
func TestReview20bDependenciesPanic(t *testing.T) {
	for _, nested := range []bool{false, true} {
		t.Run(fmt.Sprintf("nested=%v", nested), func(t *testing.T) {
			ctx := bg(t)
			n, k := newR20bNode("n"), newR20bNode("k")
			var calls atomic.Int32
			n.deps = func() []service.Service {
				if calls.Add(1) == 1 {
					panic("deps bug")
				}
				return []service.Service{k}
			}
			root := service.Service(n)
			if nested {
				p := newR20bNode("p")
				must(t, p.AddDependency(n))
				root = p
			}
			err := noHang(t, func() error { return service.Start(ctx, root) })
			if !errors.Is(err, service.ErrPanic) {
				t.Fatalf("Start: %v, want ErrPanic", err)
			}
			if st := n.State(); st != service.Init {
				t.Fatalf("n %v after a failed start", st)
			}
			must(t, noHang(t, func() error { return service.Start(ctx, root) }))
			if c := calls.Load(); c != 2 {
				t.Errorf("Dependencies called %d times, want 2", c)
			}
			r18Running(t, "after the second start", k)
			must(t, root.Stop(ctx))
		})
	}
}

// r20bTree builds root → (a → (a1 Func, a2 task), b → (b1 Every)), with
// every Base node counting its hooks.
type r20bTree struct {
	root, a, a2, b, b1 *r20bNode
	a1                 *service.FuncService
	all                []service.Service
	extra              *r20bNode // a leaf the storm adds and removes at run time
}

// parentOf is s's parent service, or nil.
func parentOf(s service.Service) service.Service {
	p, _ := s.Node().Parent().Value().(service.Service)
	return p
}

func newR20bTree(t *testing.T) *r20bTree {
	t.Helper()
	tr := &r20bTree{}
	tr.root, tr.a, tr.a2 = newR20bNode("root"), newR20bNode("a"), newR20bNode("a2")
	tr.b, tr.b1 = newR20bNode("b"), newR20bNode("b1")
	tr.a1 = service.Func("a1", blockTask)
	tr.a1.Configure(service.Config{Name: "a1", Logger: &quiet})
	tr.a2.onStart = func(context.Context) error { return tr.a2.Go("loop", blockTask) }
	tr.b1.onStart = func(context.Context) error {
		return tr.b1.Every(time.Hour, func(context.Context) error { return nil })
	}
	tr.root.deps = func() []service.Service { return []service.Service{tr.a, tr.b} }
	tr.a.onFirstStart = func(context.Context) error {
		if err := tr.a.AddDependency(tr.a1); err != nil {
			return err
		}
		return tr.a.AddDependency(tr.a2)
	}
	must(t, tr.b.AddDependency(tr.b1))
	tr.all = []service.Service{tr.root, tr.a, tr.a1, tr.a2, tr.b, tr.b1}
	tr.extra = newR20bNode("x")
	tr.extra.onStart = func(context.Context) error { return tr.extra.Go("loop", blockTask) }
	return tr
}

// check verifies the tree at rest: no transition in progress; nothing runs
// under a parent that does not run; every child of a Running parent runs
// (unless children were stopped on their own, childStops); RestartCount
// grows down the tree and counts the OnRestart calls; a Running service has
// its tasks.
func (tr *r20bTree) check(t *testing.T, childStops bool) {
	t.Helper()
	for _, s := range append(tr.all[:len(tr.all):len(tr.all)], tr.extra) {
		if st := s.State(); st == service.Starting || st == service.Stopping {
			t.Errorf("%s: %v at rest", s.ShortLabel(), st)
		}
		if n, ok := s.(*r20bNode); ok {
			if got, want := n.RestartCount(), int(n.restarts.Load()); got != want {
				t.Errorf("%s: RestartCount %d, OnRestart called %d times", n.name, got, want)
			}
		}
		p := parentOf(s)
		if p == nil {
			if s != tr.root && s.State() != service.Init && s.State() != service.Shutdown {
				t.Errorf("%s, removed, is %v", s.ShortLabel(), s.State())
			}
			continue
		}
		ps, cs := p.State(), s.State()
		if (ps == service.Init || ps == service.Shutdown) && cs != service.Init && cs != service.Shutdown {
			t.Errorf("%s is %v under %s, which is %v", s.ShortLabel(), cs, p.ShortLabel(), ps)
		}
		if ps == service.Running && cs != service.Running && !childStops {
			t.Errorf("%s is %v under %s, which is running", s.ShortLabel(), cs, p.ShortLabel())
		}
		if s.RestartCount() < p.RestartCount() && s != tr.extra {
			t.Errorf("%s: RestartCount %d below its parent %s's %d", s.ShortLabel(), s.RestartCount(), p.ShortLabel(), p.RestartCount())
		}
	}
	for s, task := range map[service.Service]string{tr.a1: "a1", tr.a2: "loop", tr.b1: "every 1h0m0s", tr.extra: "loop"} {
		if s.State() == service.Running && !slices.Contains(s.(interface{ Tasks() []string }).Tasks(), task) {
			t.Errorf("%s is running without its task %q: %v", s.ShortLabel(), task, s.(interface{ Tasks() []string }).Tasks())
		}
	}
}

// r20bStorm runs workers goroutines, each doing ops random operations on
// random services of a fresh tree (seeded: seed+worker), then checks the
// tree at rest and stops it.
func r20bStorm(t *testing.T, seed uint64, workers, ops int, childStops bool) map[string]int {
	tr := newR20bTree(t)
	ctx := bg(t)
	must(t, service.Start(ctx, tr.root))
	var mu sync.Mutex
	errs := map[string]int{}
	// The extra leaf's moves are made one at a time: a RemoveDependency
	// that returned leaves it idle, so that an AddRuntimeDependency after
	// it never meets it still started (ErrAlreadyStarted).
	var moving sync.Mutex
	note := func(op string, err error) {
		if err == nil {
			return
		}
		key := op + ": " + r20bKind(err)
		if errors.Is(err, service.ErrAlreadyStarted) {
			t.Errorf("seed %d: %s: %v", seed, op, err) // a start met a child's own transition
		}
		mu.Lock()
		errs[key]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for range ops {
				s := tr.all[rng.IntN(len(tr.all))]
				opctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				switch k := rng.IntN(10); {
				case k < 4:
					note("Restart", s.Restart(opctx))
				case k < 6:
					s.Crash(errBoom)
				case k < 7:
					note("Stop(root)", tr.root.Stop(opctx))
				case k < 8:
					_, err := service.MaybeStart(opctx, tr.root)
					note("MaybeStart(root)", err)
				case k < 9 && childStops:
					note("Stop", s.Stop(opctx))
				case k < 9:
					// The extra leaf moves: added at run time under a
					// random Base node, or removed from its parent.
					moving.Lock()
					if p, ok := tr.extra.Node().Parent().Value().(service.Service); ok {
						note("RemoveDependency", p.(interface {
							RemoveDependency(context.Context, service.Service) error
						}).RemoveDependency(opctx, tr.extra))
					} else if n, ok := s.(*r20bNode); ok {
						err := n.AddRuntimeDependency(opctx, tr.extra)
						if errors.Is(err, service.ErrHasParent) || errors.Is(err, service.ErrAlreadyAdded) {
							err = nil // another worker added it meanwhile
						}
						note("AddRuntimeDependency", err)
					}
					moving.Unlock()
				default:
					note("Restart(root)", tr.root.Restart(opctx))
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	tr.check(t, childStops)
	if t.Failed() {
		t.Logf("seed %d: %s", seed, r20bStates(tr))
	}
	if err := tr.root.Stop(ctx); err != nil {
		t.Errorf("seed %d: final Stop: %v", seed, err)
	}
	for _, s := range append(tr.all, tr.extra) {
		if st := s.State(); st != service.Shutdown && st != service.Init {
			t.Errorf("seed %d: after the final Stop %s is %v", seed, s.ShortLabel(), st)
		}
	}
	return errs
}

// r20bKind is the sentinel an error wraps, for counting.
func r20bKind(err error) string {
	for _, k := range []error{service.ErrAlreadyStarted, service.ErrNotStarted, service.ErrStopping, service.ErrStopped, service.ErrStopTimeout, errBoom, context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return err.Error()
}

func r20bStates(tr *r20bTree) string {
	var sb strings.Builder
	for _, s := range tr.all {
		fmt.Fprintf(&sb, "%s=%v/%d ", s.ShortLabel(), s.State(), s.RestartCount())
	}
	return sb.String()
}

func TestReview20bStorm(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		for _, childStops := range []bool{false, true} {
			t.Run(fmt.Sprintf("seed%d/childStops=%v", seed, childStops), func(t *testing.T) {
				errs := r20bStorm(t, seed, 4, 50, childStops)
				t.Logf("seed %d: errors %v", seed, errs)
			})
		}
	}
}

// r20bRecv receives from ch or fails the test after a generous bound.
func r20bRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second): // a watchdog, not a synchronisation
		t.Fatalf("%s: nothing after 10s", what)
		panic("unreachable")
	}
}

// TestReview20bSiblingRestartBeforeReached: while a parent's restart is in
// its children step, starting the first child (a), a Restart of a later
// child (b), which the step has not reached yet, must not start b behind
// the parent's back: the step starts it, and a failure later in the
// parent's start (OnStarted) must stop it. Nor may b's own start, still in
// progress when the step reaches b, make the parent's restart fail with
// ErrAlreadyStarted.
func TestReview20bSiblingRestartBeforeReached(t *testing.T) {
	for _, how := range []string{"parent fails after", "b still starting"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			p, a, b := newR20bNode("p"), newR20bNode("a"), newR20bNode("b")
			must(t, p.AddDependency(a))
			must(t, p.AddDependency(b))
			must(t, service.Start(ctx, p))
			entered, gate := make(chan struct{}), make(chan struct{})
			a.onStart = func(context.Context) error { entered <- struct{}{}; <-gate; return nil }
			bEntered, bGate := make(chan struct{}, 1), make(chan struct{})
			var own atomic.Bool // the next OnStart of b is its own restart's
			if how == "b still starting" {
				b.onStart = func(context.Context) error {
					if own.CompareAndSwap(true, false) {
						bEntered <- struct{}{}
						<-bGate
					}
					return nil
				}
			} else {
				p.onStarted = func(context.Context) error {
					if p.RestartCount() > 0 {
						return errBoom
					}
					return nil
				}
			}
			res := make(chan error, 1)
			go func() { res <- p.Restart(ctx) }()
			r20bRecv(t, entered, "a's OnStart in p's restart")
			bres := make(chan error, 1)
			own.Store(true)
			go func() { bres <- b.Restart(ctx) }()
			var berr error
			if how == "b still starting" {
				select {
				case <-bEntered: // b's own restart got to its start
				case berr = <-bres: // refused: b's restart did not start it
					own.Store(false)
				}
				close(gate)
			} else {
				berr = r20bRecv(t, bres, "b.Restart")
				close(gate)
			}
			perr := r20bRecv(t, res, "p.Restart")
			close(bGate)
			if how == "b still starting" && berr == nil {
				berr = r20bRecv(t, bres, "b.Restart")
			}
			t.Logf("p.Restart: %v; b.Restart: %v; p %v, a %v, b %v", perr, berr, p.State(), a.State(), b.State())
			if errors.Is(perr, service.ErrAlreadyStarted) {
				t.Errorf("p's restart failed because of b's own restart: %v", perr)
			}
			if how == "parent fails after" {
				if !errors.Is(perr, errBoom) {
					t.Errorf("p.Restart: %v, want errBoom", perr)
				}
				if st := b.State(); st == service.Running {
					t.Errorf("b runs after p's restart was rolled back (p %v); b.Restart returned %v", p.State(), berr)
				}
			} else if perr == nil {
				r18Running(t, "after p's restart", b)
			}
			must(t, p.Stop(ctx))
			for _, s := range []service.Service{p, a, b} {
				if st := s.State(); st == service.Running || st == service.Starting {
					t.Errorf("%s %v after p's Stop", s.ShortLabel(), st)
				}
			}
		})
	}
}

// TestReview20bRemoveBeforeReached: a child removed (RemoveDependency)
// while its parent's start is in its children step, before the step has
// reached it, must not be started by that step: it is no child any more,
// and nothing would stop it.
func TestReview20bRemoveBeforeReached(t *testing.T) {
	for _, when := range []string{"first start", "restart"} {
		t.Run(when, func(t *testing.T) {
			ctx := bg(t)
			p, a, b := newR20bNode("p"), newR20bNode("a"), newR20bNode("b")
			must(t, p.AddDependency(a))
			must(t, p.AddDependency(b))
			entered, gate := make(chan struct{}), make(chan struct{})
			block := func(context.Context) error { entered <- struct{}{}; <-gate; return nil }
			res := make(chan error, 1)
			if when == "first start" {
				a.onStart = block
				go func() { res <- service.Start(ctx, p) }()
			} else {
				must(t, service.Start(ctx, p))
				a.onStart = block
				go func() { res <- p.Restart(ctx) }()
			}
			r20bRecv(t, entered, "a's OnStart")
			rerr := p.RemoveDependency(ctx, b)
			close(gate)
			must(t, r20bRecv(t, res, "p's start"))
			t.Logf("RemoveDependency: %v; p %v, b %v (parent %v)", rerr, p.State(), b.State(), b.Node().Parent())
			must(t, rerr)
			must(t, p.Stop(ctx))
			if st := b.State(); st == service.Running || st == service.Starting {
				t.Errorf("b, removed from p, is %v after p's Stop", st)
				must(t, b.Stop(ctx))
			}
		})
	}
}

// TestReview20bRestartCountTold: OnRestart runs on every service whose
// RestartCount the restart incremented, also one its parent's OnRestart
// removes (the reset and the calls used to walk the subtree twice: the
// child was counted, then not told).
func TestReview20bRestartCountTold(t *testing.T) {
	ctx := bg(t)
	p, x := newR20bNode("p"), newR20bNode("x")
	must(t, p.AddDependency(x))
	must(t, service.Start(ctx, p))
	p.onRestart = func(ctx context.Context) error { return p.RemoveDependency(ctx, x) }
	must(t, p.Restart(ctx))
	if got, told := x.RestartCount(), x.restarts.Load(); got != int(told) {
		t.Errorf("x: RestartCount %d, OnRestart called %d times", got, told)
	}
	if x.Node().Parent() != nil || x.State() != service.Shutdown {
		t.Errorf("x: parent %v, state %v after its removal", x.Node().Parent(), x.State())
	}
	must(t, p.Stop(ctx))
}

// TestReview20bCrashUnderCrashedRoot: with no supervisor, a crash marks
// the whole tree crashed, also when the root crashed before and a child
// was restarted since (legal under a crashed parent): a grandchild's crash
// then marks that child too, instead of leaving it running over a crashed
// child.
func TestReview20bCrashUnderCrashedRoot(t *testing.T) {
	ctx := bg(t)
	root, a, a1 := newR20bNode("root"), newR20bNode("a"), newR20bNode("a1")
	must(t, root.AddDependency(a))
	must(t, a.AddDependency(a1))
	must(t, service.Start(ctx, root))
	root.Crash(errBoom)
	must(t, a.Restart(ctx))
	r18Running(t, "a after its restart", a1)
	errLater := errors.New("later")
	a1.Crash(errLater)
	for _, s := range []service.Service{root, a, a1} {
		if st := s.State(); st != service.Crashed {
			t.Errorf("%s %v after a1's crash, want crashed", s.ShortLabel(), st)
		}
	}
	if !errors.Is(a.CrashReason(), errLater) {
		t.Errorf("a's crash reason %v, want a1's", a.CrashReason())
	}
	must(t, root.Stop(ctx))
}

// TestReview20bHookCtxAfterStop: once Stop has returned, the ctx OnStart
// got has ended. With a start ctx that has a deadline the hooks' ctx is a
// context.WithCancel of the engine's deadlineParent (hookctx.go), which
// hears of the run's end through AfterFunc, on a goroutine of its own: for
// a moment after Stop returned its Err was still nil (a few in a thousand
// stops; TestRunContext/cause_after_Stop failed now and then in a loaded
// run of the whole package). The run's stop now waits for it.
func TestReview20bHookCtxAfterStop(t *testing.T) {
	ctx := bg(t)
	for i := range 2000 {
		h := newHookSvc("s")
		var hctx context.Context
		h.onStart = func(ctx context.Context) error { hctx = ctx; return nil }
		must(t, service.Start(ctx, h))
		must(t, h.Stop(ctx))
		if hctx.Err() == nil {
			t.Fatalf("stop #%d returned with OnStart's ctx not ended", i)
		}
	}
}
