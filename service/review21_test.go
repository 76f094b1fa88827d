package service_test

// Review 21: attacks on the merged children step of a plain Base parent
// (6723368: unreached, kidsUp, startKid's wait, RemoveDependency during
// the step, the rollback of a child's own Restart).

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// r21down fails the test if s or any service below it is Running,
// Starting or Stopping (the tree after its root's Stop, or under a parent
// rolled back to Init).
func r21down(t *testing.T, what string, s service.Service) {
	t.Helper()
	for _, d := range r21tree(s) {
		switch st := d.State(); st {
		case service.Init, service.Shutdown:
		default:
			t.Errorf("%s: %s is %v", what, d.Label(), st)
		}
	}
}

// r21tree is s and its descendants (through their nodes).
func r21tree(s service.Service) []service.Service {
	out := []service.Service{s}
	for _, c := range s.Node().Children() {
		if cs, ok := c.Value().(service.Service); ok {
			out = append(out, r21tree(cs)...)
		}
	}
	return out
}

// TestReview21KidsStepScale: the children step and its rollback are
// linear in the number of children. kidsUp (children running when the
// step began) and the rollback's record of the children it started were
// looked up with slices.Contains per child: 100k children all running
// when the step began, or all started by a start that then failed, took
// 13 s (n² comparisons) instead of 80 ms. The bound is generous: four
// times the start of the same parent with no child running, plus a
// second (the quadratic code took 10 to 20 times as long at 50k).
func TestReview21KidsStepScale(t *testing.T) {
	const n = 30_000
	var base time.Duration // "none running", the first case
	for _, how := range []string{"none running", "all running", "rolled back"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			p := newHookSvc("p")
			kids := make([]*service.Base, n)
			for i := range kids {
				k := &service.Base{}
				k.Configure(service.Config{Logger: &quiet})
				if how == "all running" {
					// Started before it is added: under a parent in
					// Init, its Start is refused (review 22).
					must(t, service.Start(ctx, k))
				}
				must(t, p.AddDependency(k))
				kids[i] = k
			}
			fail := errors.New("OnStarted fails")
			if how == "rolled back" {
				p.onStarted = func(context.Context) error { return fail }
			}
			began := time.Now()
			err := service.Start(ctx, p)
			took := time.Since(began)
			if how == "rolled back" != errors.Is(err, fail) {
				t.Fatalf("Start: %v", err)
			}
			if how == "none running" {
				base = took
			} else if took > 4*base+time.Second {
				t.Errorf("start of a parent of %d children (%s): %v, against %v with none running", n, how, took, base)
			}
			must(t, p.Stop(ctx))
			if how == "all running" {
				for _, k := range kids { // they ran before p: p's start left them alone
					_ = k.Stop(ctx)
				}
			}
			r21down(t, "after Stop", p)
		})
	}
}

// TestReview21ChildStartedDirectly: a child started by its own Start
// while its parent is not running is "started by someone else" (kidsUp):
// the parent's start neither starts nor rolls it back. After a failed
// start of the parent (Init) the child keeps running, and the Stop of
// the parent, the root, returns at once (Init) with its child running:
// something runs after the root's Stop. Now Start and MaybeStart refuse
// it under a parent in Init (parentDown: ErrNotStarted); during the
// parent's start (its OnStart starting it early, to use it at once) the
// child is that start's, which its rollback stops.
func TestReview21ChildStartedDirectly(t *testing.T) {
	for _, when := range []string{"during the parent's OnStart", "under a parent rolled back to Init"} {
		t.Run(when, func(t *testing.T) {
			ctx := bg(t)
			p, k := newHookSvc("p"), newHookSvc("k")
			must(t, p.AddDependency(k))
			fail := errors.New("OnStarted fails")
			p.onStarted = func(context.Context) error { return fail }
			var kErr error
			if when == "during the parent's OnStart" {
				p.onStart = func(context.Context) error {
					kErr = service.Start(ctx, k)
					return nil
				}
			}
			if err := service.Start(ctx, p); !errors.Is(err, fail) {
				t.Fatalf("p's start: %v", err)
			}
			if when != "during the parent's OnStart" {
				kErr = service.Start(ctx, k)
				if ok, err := service.MaybeStart(ctx, k); ok || !errors.Is(err, service.ErrNotStarted) {
					t.Errorf("MaybeStart(k) under p in %v: %v, %v, want ErrNotStarted", p.State(), ok, err)
				}
			}
			if when == "during the parent's OnStart" {
				// The parent's own start starts it early (to use it at
				// once): it is that start's, which the rollback stops.
				if kErr != nil {
					t.Errorf("Start(k) in p's OnStart: %v", kErr)
				}
				if st := k.State(); st == service.Running {
					t.Errorf("k %v after p's start was rolled back", st)
				}
			} else if !errors.Is(kErr, service.ErrNotStarted) {
				t.Errorf("Start(k) under p in %v: %v, want ErrNotStarted", p.State(), kErr)
			}
			must(t, p.Stop(ctx))
			defer func() { _ = k.Stop(ctx) }()
			r21down(t, "after the root's Stop", p)
		})
	}
}

// r21node is a service for the chaos below: its OnStarted fails while
// failStarted is set, and it counts nothing else.
type r21node struct {
	service.Base
	failStarted atomic.Bool
}

func newR21(name string) *r21node {
	n := &r21node{}
	n.Configure(service.Config{Name: name, Logger: &quiet})
	return n
}

func (n *r21node) OnStart(ctx context.Context) error {
	return n.Go("idle", func(ctx context.Context) error { <-ctx.Done(); return nil })
}

func (n *r21node) OnStarted(context.Context) error {
	if n.failStarted.Load() {
		return errors.New("OnStarted fails")
	}
	return nil
}

var _ service.OnStartedHook = (*r21node)(nil)

// TestReview21ChaosUnderRoot: a tree root → p → {k1, k2 → g}, and
// concurrently: each of them restarting itself (from outside and from
// its own task), crashing, its OnStarted failing now and then (rollbacks),
// k1 removed and added back at run time, p restarted; then the root's
// Stop. Every call returns (within the watchdog), and after the root's
// Stop nothing of the tree is running, starting or stopping, and no
// goroutine is left (goleak).
func TestReview21ChaosUnderRoot(t *testing.T) {
	ctx := bg(t)
	root, p, k1, k2, g := newR21("root"), newR21("p"), newR21("k1"), newR21("k2"), newR21("g")
	must(t, root.AddDependency(p))
	must(t, p.AddDependency(k1))
	must(t, p.AddDependency(k2))
	must(t, k2.AddDependency(g))
	must(t, service.Start(ctx, root))
	all := []*r21node{root, p, k1, k2, g}
	var wg sync.WaitGroup
	var moving sync.Mutex // k1's removal and return, one at a time
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 21))
			for range 400 {
				n := all[1+rng.IntN(len(all)-1)]
				switch rng.IntN(6) {
				case 0, 1:
					_ = n.Restart(ctx)
				case 2:
					n.Crash(errors.New("chaos"))
				case 3:
					n.failStarted.Store(rng.IntN(2) == 0)
				case 4:
					_ = n.Go("restarter", func(tctx context.Context) error {
						return n.Restart(tctx) // from inside: begins, returns
					})
				case 5:
					moving.Lock()
					if k1.Node().Parent() == p.Node() {
						_ = p.RemoveDependency(ctx, k1)
					} else {
						_ = p.AddRuntimeDependency(ctx, k1)
					}
					moving.Unlock()
				}
			}
		}()
	}
	if err := noHang(t, func() error { wg.Wait(); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, n := range all {
		n.failStarted.Store(false)
	}
	_ = noHang(t, func() error { return root.Stop(ctx) })
	if k1.Node().Parent() == nil {
		_ = k1.Stop(ctx) // removed: its own
	}
	r21down(t, "after the root's Stop", root)
}
