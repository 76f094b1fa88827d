package service_test

// Review 22: attacks on 725b267 (Start/MaybeStart of a child refused
// unless its parent has started it or is starting; a child started during
// its parent's start is that start's; RemoveDependency leaves the child
// idle) and c2c0c36 (endHooks).

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// r22kid is a child that counts its OnStart and OnStop calls and runs a
// task while it runs.
type r22kid struct {
	service.Base
	starts, stops atomic.Int32
	onStart       func(ctx context.Context) error
}

func newR22Kid(name string) *r22kid {
	k := &r22kid{}
	k.Configure(service.Config{Name: name, Logger: &quiet})
	return k
}

func (k *r22kid) OnStart(ctx context.Context) error {
	k.starts.Add(1)
	if err := callIf(k.onStart, ctx); err != nil {
		return err
	}
	return k.Go("idle", blockTask)
}

func (k *r22kid) OnStop(context.Context) error { k.stops.Add(1); return nil }

var _ service.OnStopper = (*r22kid)(nil)

// r22idle fails the test unless s is in Init or Shutdown.
func r22idle(t *testing.T, what string, s service.Service) {
	t.Helper()
	if st := s.State(); st != service.Init && st != service.Shutdown {
		t.Errorf("%s: %s is %v, want Init or Shutdown", what, s.Label(), st)
	}
}

// TestReview22StartRefusedUnderParentDown: Start and MaybeStart of a
// child whose parent is in Init (never handed over, too), or stopped, are
// refused.
func TestReview22StartRefusedUnderParentDown(t *testing.T) {
	ctx := bg(t)
	p, c := newHookSvc("p"), newR22Kid("c")
	must(t, p.AddDependency(c))
	if err := service.Start(ctx, c); !errors.Is(err, service.ErrNotStarted) {
		t.Fatalf("Start under a parent in Init: %v, want ErrNotStarted", err)
	}
	if ok, err := service.MaybeStart(ctx, c); ok || !errors.Is(err, service.ErrNotStarted) {
		t.Fatalf("MaybeStart under a parent in Init: %v %v, want ErrNotStarted", ok, err)
	}
	must(t, service.Start(ctx, p))
	must(t, p.Stop(ctx))
	if err := service.Start(ctx, c); !errors.Is(err, service.ErrStopping) {
		t.Fatalf("Start under a stopped parent: %v, want ErrStopping", err)
	}
	r22idle(t, "after refusals", c)
	if n := c.starts.Load(); n != 1 {
		t.Fatalf("c started %d times, want 1", n)
	}
}

// TestReview22ChildStartedInOnStartParentFails: a child the parent's
// OnStart starts (to use it at once) is that start's: when the parent's
// start then fails — in OnStart itself, in OnStarted, or at a later
// child — the child is stopped, once, and the parent is in Init.
func TestReview22ChildStartedInOnStartParentFails(t *testing.T) {
	for _, where := range []string{"OnStart", "OnStarted", "sibling", "none"} {
		t.Run(where, func(t *testing.T) {
			ctx := bg(t)
			p, c, bad := newHookSvc("p"), newR22Kid("c"), newR22Kid("bad")
			must(t, p.AddDependency(c))
			if where == "sibling" {
				bad.onStart = func(context.Context) error { return errBoom }
				must(t, p.AddDependency(bad))
			}
			p.onStart = func(ctx context.Context) error {
				if err := service.Start(ctx, c); err != nil {
					return err
				}
				if where == "OnStart" {
					return errBoom
				}
				return nil
			}
			p.onStarted = func(context.Context) error {
				if where == "OnStarted" {
					return errBoom
				}
				return nil
			}
			err := service.Start(ctx, p)
			if where == "none" {
				must(t, err)
				if st := c.State(); st != service.Running {
					t.Fatalf("c is %v", st)
				}
				must(t, p.Stop(ctx))
			} else if !errors.Is(err, errBoom) {
				t.Fatalf("Start(p): %v, want errBoom", err)
			}
			r22idle(t, "p", p)
			r22idle(t, "c", c)
			if s, st := c.starts.Load(), c.stops.Load(); s != 1 || st != 1 {
				t.Fatalf("c: %d starts, %d stops, want 1 and 1", s, st)
			}
		})
	}
}

// TestReview22RunningChildAddedKeepsRunning: a service running before
// it is added to a parent in Init was started by someone else: the
// parent's failed start leaves it running (kidsUp), whether it is added
// before the start or by the start's Dependencies().
func TestReview22RunningChildAddedKeepsRunning(t *testing.T) {
	for _, how := range []string{"AddDependency", "Dependencies"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			c := newR22Kid("c")
			must(t, service.Start(ctx, c))
			p := newR20bNode("p")
			if how == "AddDependency" {
				must(t, p.AddDependency(c))
			} else {
				p.deps = func() []service.Service { return []service.Service{c} }
			}
			p.onStarted = func(context.Context) error { return errBoom }
			if err := service.Start(ctx, p); !errors.Is(err, errBoom) {
				t.Fatalf("Start(p): %v", err)
			}
			st := c.State()
			must(t, c.Stop(ctx))
			if st != service.Running {
				t.Fatalf("c was %v after its new parent's failed start, want Running (it ran before)", st)
			}
		})
	}
}

// TestReview22SupervisedChildStart: a supervisor's child cannot be
// started while the supervisor is in Init or stopped; the supervisor's
// start starts it as before.
func TestReview22SupervisedChildStart(t *testing.T) {
	ctx := bg(t)
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
	c := newR22Kid("c")
	must(t, sup.AddDependency(c))
	if err := service.Start(ctx, c); !errors.Is(err, service.ErrNotStarted) {
		t.Fatalf("Start under a supervisor in Init: %v", err)
	}
	must(t, service.Start(ctx, sup))
	if st := c.State(); st != service.Running {
		t.Fatalf("c is %v", st)
	}
	must(t, sup.Stop(ctx))
	r22idle(t, "c", c)
	if err := service.Start(ctx, c); !errors.Is(err, service.ErrStopping) {
		t.Fatalf("Start under a stopped supervisor: %v", err)
	}
}

// TestReview22RemoveFromChildOnStart: the child removes itself from its
// parent in its own OnStart, during the parent's step: nothing hangs, the
// parent starts, and the child ends idle and no child of it.
func TestReview22RemoveFromChildOnStart(t *testing.T) {
	ctx := bg(t)
	p, c := newHookSvc("p"), newR22Kid("c")
	must(t, p.AddDependency(c))
	var rmErr error
	c.onStart = func(ctx context.Context) error {
		rmErr = p.RemoveDependency(ctx, c)
		return nil
	}
	err := service.Start(ctx, p)
	t.Logf("Start(p): %v; RemoveDependency: %v", err, rmErr)
	must(t, c.WaitUntilStopped(ctx))
	r22idle(t, "c", c)
	if c.Node().Parent() == p.Node() {
		t.Fatal("c is still p's child")
	}
	if err == nil {
		must(t, p.Stop(ctx))
	}
	r22idle(t, "p", p)
}

// TestReview22RemoveSiblingDuringStep: a child's OnStart removes a later
// sibling (not started yet) and an earlier one (started by the step):
// both end idle, the step neither starts nor stops them again, and the
// parent's Stop leaves them alone.
func TestReview22RemoveSiblingDuringStep(t *testing.T) {
	ctx := bg(t)
	p := newHookSvc("p")
	a, b, c := newR22Kid("a"), newR22Kid("b"), newR22Kid("c")
	for _, k := range []*r22kid{a, b, c} {
		must(t, p.AddDependency(k))
	}
	b.onStart = func(ctx context.Context) error {
		if err := p.RemoveDependency(ctx, c); err != nil {
			return err
		}
		return p.RemoveDependency(ctx, a)
	}
	must(t, service.Start(ctx, p))
	r22idle(t, "a", a)
	r22idle(t, "c", c)
	if n := c.starts.Load(); n != 0 {
		t.Fatalf("c started %d times after its removal", n)
	}
	if s, st := a.starts.Load(), a.stops.Load(); s != 1 || st != 1 {
		t.Fatalf("a: %d starts %d stops", s, st)
	}
	must(t, p.Stop(ctx))
	if n := a.stops.Load(); n != 1 {
		t.Fatalf("a stopped %d times", n)
	}
	// Both may join another parent at once.
	q := newHookSvc("q")
	must(t, q.AddDependency(a))
	must(t, q.AddDependency(c))
	must(t, service.Start(ctx, q))
	must(t, q.Stop(ctx))
}

// TestReview22RemoveFromParentHooks: the parent's OnStart removes a child
// running before its start, and its OnStop removes another: each ends
// idle, and Start and Stop return.
func TestReview22RemoveFromParentHooks(t *testing.T) {
	ctx := bg(t)
	p := newHookSvc("p")
	a, b := newR22Kid("a"), newR22Kid("b")
	must(t, p.AddDependency(a))
	must(t, p.AddDependency(b))
	p.onStart = func(ctx context.Context) error { return p.RemoveDependency(ctx, a) }
	p.onStop = func(ctx context.Context) error { return p.RemoveDependency(ctx, b) }
	must(t, service.Start(ctx, p))
	r22idle(t, "a", a)
	if st := b.State(); st != service.Running {
		t.Fatalf("b is %v", st)
	}
	must(t, p.Stop(ctx))
	r22idle(t, "b", b)
	if n := b.stops.Load(); n != 1 {
		t.Fatalf("b stopped %d times", n)
	}
	if len(p.Node().Children()) != 0 {
		t.Fatal("p still has children")
	}
}

// TestReview22MovedDuringStep: a child removed from p1 while p1's step
// waits on an earlier child, and added at run time to a running p2: p1's
// step neither starts nor stops it, and it runs under p2 until p2 stops.
func TestReview22MovedDuringStep(t *testing.T) {
	ctx := bg(t)
	p1, p2 := newHookSvc("p1"), newHookSvc("p2")
	a, c := newR22Kid("a"), newR22Kid("c")
	must(t, p1.AddDependency(a))
	must(t, p1.AddDependency(c))
	must(t, service.Start(ctx, p2))
	a.onStart = func(ctx context.Context) error {
		if err := p1.RemoveDependency(ctx, c); err != nil {
			return err
		}
		return p2.AddRuntimeDependency(ctx, c)
	}
	must(t, service.Start(ctx, p1))
	if st := c.State(); st != service.Running {
		t.Fatalf("c is %v under p2", st)
	}
	must(t, p1.Stop(ctx))
	if st := c.State(); st != service.Running {
		t.Fatalf("c is %v under p2 after p1's Stop", st)
	}
	if s := c.starts.Load(); s != 1 {
		t.Fatalf("c started %d times", s)
	}
	must(t, p2.Stop(ctx))
	r22idle(t, "c", c)
}

// TestReview22RemoveRacesParent: RemoveDependency of a child races its
// parent's Stop, Start and Restart, over and over: every call returns,
// the child ends idle and no child of the parent each time, and nothing
// runs after the parent's final Stop.
func TestReview22RemoveRacesParent(t *testing.T) {
	ctx := bg(t)
	for i := range 200 {
		p, c := newR21("p"), newR21("c")
		must(t, p.AddDependency(c))
		if i%2 == 0 {
			must(t, service.Start(ctx, p))
		}
		var wg sync.WaitGroup
		var rmErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			rmErr = p.RemoveDependency(ctx, c)
		}()
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0:
				_ = p.Stop(ctx)
			case 1:
				_ = service.Start(ctx, p)
			case 2:
				_ = p.Restart(ctx)
			case 3:
				_ = service.Start(ctx, p)
				_ = p.Stop(ctx)
			}
		}()
		wg.Wait()
		if rmErr != nil && !errors.Is(rmErr, service.ErrNotChild) {
			t.Logf("%d: RemoveDependency: %v", i, rmErr)
		}
		r22idle(t, "removed child", c)
		if c.Node().Parent() == p.Node() {
			t.Fatalf("%d: c still p's child", i)
		}
		_ = p.Stop(ctx)
		r22idle(t, "p", p)
		if t.Failed() {
			t.Fatalf("at %d", i)
		}
	}
}

// TestReview22StartRacesParentStop: Start of a child left in Init under
// a running parent (its own Restart failed) races the parent's Stop: once
// both return, the child is not running (parentDown is read before the
// start begins: a Stop that passes its children step in between must
// not leave the child running behind it).
func TestReview22StartRacesParentStop(t *testing.T) {
	ctx := bg(t)
	for i := range 300 {
		p, c := newHookSvc("p"), newR22Kid("c")
		must(t, p.AddDependency(c))
		must(t, service.Start(ctx, p))
		var fail atomic.Bool
		c.onStart = func(context.Context) error {
			if fail.Load() {
				return errBoom
			}
			return nil
		}
		fail.Store(true)
		if err := c.Restart(ctx); !errors.Is(err, errBoom) {
			t.Fatalf("Restart(c): %v", err)
		}
		fail.Store(false)
		if st := c.State(); st != service.Init {
			t.Fatalf("c is %v after its failed restart", st)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = service.Start(ctx, c) }()
		go func() { defer wg.Done(); _ = p.Stop(ctx) }()
		wg.Wait()
		if st := c.State(); st == service.Running || st == service.Starting {
			_ = c.Stop(ctx)
			t.Fatalf("%d: c %v after its parent's Stop", i, st)
		}
	}
}

// TestReview22ChildStartedInOnFirstStart: a child OnFirstStart adds and
// starts (to use it at once) is that start's: when OnFirstStart itself
// fails (its children are dropped, to be added again by the retry) or
// OnStart fails after it, the child is stopped once, not left running.
func TestReview22ChildStartedInOnFirstStart(t *testing.T) {
	for _, where := range []string{"OnFirstStart", "OnStart"} {
		t.Run(where, func(t *testing.T) {
			ctx := bg(t)
			p, c := newR20bNode("p"), newR22Kid("c")
			p.onFirstStart = func(ctx context.Context) error {
				if err := p.AddDependency(c); err != nil {
					return err
				}
				if err := service.Start(ctx, c); err != nil {
					return err
				}
				if where == "OnFirstStart" {
					return errBoom
				}
				return nil
			}
			p.onStart = func(context.Context) error {
				if where == "OnStart" {
					return errBoom
				}
				return nil
			}
			if err := service.Start(ctx, p); !errors.Is(err, errBoom) {
				t.Fatalf("Start(p): %v", err)
			}
			st := c.State()
			_ = c.Stop(ctx)
			if st != service.Init && st != service.Shutdown {
				t.Fatalf("c is %v after p's failed start", st)
			}
			if s, sp := c.starts.Load(), c.stops.Load(); s != 1 || sp != 1 {
				t.Fatalf("c: %d starts, %d stops", s, sp)
			}
		})
	}
}

// TestReview22SupervisedChildStartedDuringStart: a supervisor's child
// started by the user while the supervisor's start is at an earlier
// child (allowed: its parent is starting) is taken over by that start,
// and the supervisor's Stop stops it.
func TestReview22SupervisedChildStartedDuringStart(t *testing.T) {
	for _, failing := range []bool{false, true} {
		t.Run(map[bool]string{false: "ok", true: "a later child fails"}[failing], func(t *testing.T) {
			r22SupStartedDuring(t, failing)
		})
	}
}

func r22SupStartedDuring(t *testing.T, failing bool) {
	ctx := bg(t)
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
	c1, c2, c3 := newR22Kid("c1"), newR22Kid("c2"), newR22Kid("c3")
	in, release := make(chan struct{}), make(chan struct{})
	c1.onStart = func(context.Context) error { close(in); <-release; return nil }
	must(t, sup.AddDependency(c1))
	must(t, sup.AddDependency(c2))
	if failing {
		c3.onStart = func(context.Context) error { return errBoom }
		must(t, sup.AddDependency(c3))
	}
	done := make(chan error, 1)
	go func() { done <- service.Start(ctx, sup) }()
	<-in
	c2Err := service.Start(ctx, c2)
	close(release)
	supErr := <-done
	if failing != (supErr != nil) {
		t.Fatalf("Start(sup): %v", supErr)
	}
	t.Logf("Start(c2) during the supervisor's start: %v; Start(sup): %v", c2Err, supErr)
	if supErr == nil {
		if st := c2.State(); st != service.Running {
			t.Errorf("c2 is %v under a running supervisor", st)
		}
		must(t, sup.Stop(ctx))
	}
	r22idle(t, "c1", c1)
	r22idle(t, "c2", c2)
	if s, sp := c2.starts.Load(), c2.stops.Load(); s != sp || s > 1 {
		t.Errorf("c2: %d starts, %d stops", s, sp)
	}
}

// TestReview22HooksCtxEndsWithStop: the start hooks' ctx, under a start
// ctx with a deadline that does not pass, has ended once Stop (or a
// failed start's rollback) returns, with context.Canceled.
func TestReview22HooksCtxEndsWithStop(t *testing.T) {
	for _, fail := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(bg(t), time.Hour)
		p := newHookSvc("p")
		var hctx context.Context
		p.onStart = func(ctx context.Context) error { hctx = ctx; return nil }
		p.onStarted = func(context.Context) error {
			if fail {
				return errBoom
			}
			return nil
		}
		err := service.Start(ctx, p)
		if fail != errors.Is(err, errBoom) {
			t.Fatalf("Start: %v", err)
		}
		if !fail {
			must(t, p.Stop(ctx))
		}
		if err := hctx.Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("fail=%v: the hooks' ctx after the stop: %v, want Canceled", fail, err)
		}
		cancel()
	}
}
