package supervisor_test

// Regression tests for the defects a hostile review of the supervisor
// found (each failed on the engine as reviewed, and passes since its fix);
// the comment above each names the defect.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// DEFECT R1: the Stop of a child that is already down (terminated) is read
// as a new normal exit of that child (handle, reqStopOwn → applyExit): under
// one-for-all it stops and restarts every running sibling, and under any
// strategy each such Stop of a Permanent child spends one restart of the
// intensity, so a few idempotent Stop calls make the supervisor give up.
// Stop is documented idempotent ("already stopped: returns nil at once").
func TestReviewStopOfTerminatedChildIsNoExit(t *testing.T) {
	t.Run("one-for-all siblings restarted", func(t *testing.T) {
		ctx := bg(t)
		ev := newEvents()
		s := newSup(supervisor.Spec{Strategy: strategy.OneForAll}, ev)
		a, b := newD("a"), newD("b")
		must(t, s.Add(ctx, a))
		must(t, s.Add(ctx, b))
		must(t, service.Start(ctx, s))
		must(t, s.Terminate(ctx, "b"))
		must(t, b.Stop(ctx)) // b is down already: nothing should happen
		settle(t, ctx, s, ev)
		if n := a.starts.Load(); n != 1 {
			t.Errorf("sibling a started %d times after the Stop of a terminated child, want 1: %s", n, ev)
		}
		must(t, s.Stop(ctx))
	})
	t.Run("intensity spent", func(t *testing.T) {
		ctx := bg(t)
		ev := newEvents()
		s := newSup(supervisor.Spec{}, ev) // 3 restarts in 5s
		a, b := newD("a"), newD("b")
		must(t, s.Add(ctx, a))
		must(t, s.Add(ctx, b))
		must(t, service.Start(ctx, s))
		must(t, s.Terminate(ctx, "b"))
		for range 4 {
			_ = b.Stop(ctx)
		}
		err := s.Add(ctx, newD("probe"), supervisor.ChildSpec{Restart: strategy.Temporary})
		if err != nil || s.State() != service.Running {
			t.Errorf("after 4 Stops of a terminated child: Add %v, supervisor %v: %s", err, s.State(), ev)
		}
		_ = s.Stop(ctx)
	})
}

// DEFECT R2: the start made for Add (addRunning) and for RestartChild / a
// child's own Restart (manualRestart) runs under the request's ctx only,
// not under the goroutine's ctx that the supervisor's Stop cancels. A
// well-behaved child whose OnStart waits on its ctx then holds the
// supervisor's goroutine through the supervisor's whole stop budget: Stop
// takes the full budget, fails with ErrStopTimeout ("still busy with the
// start of x") and the supervisor is left refusing to start again, although
// no user code ignored its ctx. restartOne uses ls.ctx and has no such
// problem.
func TestReviewStopDoesNotCancelAddStart(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{Service: service.Config{StopTimeout: 500 * time.Millisecond}}, nil)
	must(t, service.Start(ctx, s))
	x := newD("x")
	entered := make(chan struct{})
	x.onStart = func(ctx context.Context, _ int32) error {
		close(entered)
		<-ctx.Done() // honours its ctx
		return ctx.Err()
	}
	addErr := make(chan error, 1)
	go func() { addErr <- s.Add(context.Background(), x) }()
	recv(t, entered, "x's OnStart")
	began := time.Now()
	err := s.Stop(ctx)
	took := time.Since(began)
	<-addErr
	if err != nil || took > 400*time.Millisecond {
		t.Errorf("Stop with a child starting that honours its ctx: took %v, err %v", took, err)
	}
}

// DEFECT R3: Supervisor.inCallback was one flag for the whole supervisor,
// saved and restored by every callback (callback). OnEvent also runs on the
// caller's goroutine while the supervisor's goroutine does not run (a
// Remove before Start). When that call ended while the goroutine ran an
// OnEvent of its own, it stored false: a call the goroutine's OnEvent then
// made was no longer recognised (submit) and waited for the goroutine
// itself. Now callbacks are named by goroutine, and the supervisor's start
// waits for a Remove its caller performs (OnEvent included) before its
// goroutine takes over: the two no longer overlap.
func TestReviewCallbackFlagIsPerSupervisorNotPerGoroutine(t *testing.T) {
	ctx := bg(t)
	aIn, aRelease := make(chan struct{}), make(chan struct{})
	bIn, bGo := make(chan struct{}), make(chan struct{})
	res := make(chan error, 1)
	var s *supervisor.Supervisor
	s = newSup(supervisor.Spec{OnEvent: func(e supervisor.Event) {
		switch {
		case e.Kind == supervisor.ChildRemoved && e.Child == "x":
			close(aIn)
			<-aRelease
		case e.Kind == supervisor.ChildCrashed && e.Child == "w":
			close(bIn)
			<-bGo
			tctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			res <- s.Terminate(tctx, "w") // on the goroutine: must be queued
		}
	}}, nil)
	x, w := newD("x"), newD("w")
	must(t, s.Add(ctx, x))
	must(t, s.Add(ctx, w))
	removed := make(chan error, 1)
	go func() { removed <- s.Remove(ctx, x) }() // direct: the goroutine does not run
	recv(t, aIn, "OnEvent of the Remove")
	started := make(chan error, 1)
	go func() { started <- service.Start(ctx, s) }() // waits for the Remove
	close(aRelease)
	must(t, recv(t, removed, "Remove"))
	must(t, recv(t, started, "Start"))
	w.Crash(errBoom)
	recv(t, bIn, "OnEvent of the crash, on the goroutine")
	close(bGo)
	if err := recv(t, res, "Terminate from OnEvent"); err != nil {
		t.Errorf("Terminate from OnEvent on the supervisor's goroutine: %v, want nil (queued)", err)
	}
	must(t, s.Stop(ctx))
}

// DEFECT R4: AllSignificant reads c.ended, set when a significant child
// ends on its own and cleared only when the supervisor starts
// (machinery.Start). A significant child started again by RestartChild (or
// its own Restart) still counts as ended: when the other significant child
// ends, the supervisor shuts itself down although a significant child runs.
func TestReviewAllSignificantAfterRestartChild(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{AutoShutdown: supervisor.AllSignificant}, ev)
	a, b := newD("a"), newD("b")
	sig := supervisor.ChildSpec{Restart: strategy.Transient, Significant: true}
	must(t, s.Add(ctx, a, sig))
	must(t, s.Add(ctx, b, sig))
	must(t, service.Start(ctx, s))
	must(t, a.Stop(ctx)) // a ends on its own (normal exit)
	settle(t, ctx, s, ev)
	must(t, s.RestartChild(ctx, "a"))
	if a.State() != service.Running {
		t.Fatalf("a %v after RestartChild", a.State())
	}
	must(t, b.Stop(ctx)) // b ends; a runs
	err := s.Add(ctx, newD("probe"), supervisor.ChildSpec{Restart: strategy.Temporary})
	if err != nil || s.State() != service.Running {
		t.Errorf("all_significant shut down while significant a runs: Add %v, supervisor %v", err, s.State())
	}
	_ = s.Stop(ctx)
}

// DEFECT R5: a supervisor's "no limit" (loopState.remaining → MaxInt64 when
// neither a ctx deadline nor Stop bounds it) reaches a nested supervisor as
// a real budget: child.shutdown gives a supervisor child "what remains", so
// restartOne calls Handle.Restart with budget MaxInt64, and newLimit takes a
// budget ≥ 0 as the caller's limit instead of falling back to
// DefaultStopTimeout (10s). The restart of a nested supervisor (its stop
// hooks, and the wait for stuck code of its subtree, waitStuck) is then
// unbounded: one stuck task of a grandchild blocks the outer supervisor's
// goroutine forever (no other child handled, Add hangs).
func TestReviewNestedRestartUnbounded(t *testing.T) {
	ctx := bg(t)
	fake := clock.NewFake(time.Unix(1e9, 0))
	ev := newEvents()
	outer := newSup(supervisor.Spec{}, ev)
	inner := newSup(supervisor.Spec{Service: service.Config{Name: "inner", Clock: fake},
		ShutdownTimeout: 50 * time.Millisecond}, nil)
	leaf := newD("leaf")
	release := make(chan struct{})
	taskDone := make(chan struct{})
	leaf.onStart = func(_ context.Context, n int32) error {
		if n == 1 {
			return leaf.Go("stubborn", func(context.Context) error {
				defer close(taskDone)
				<-release // ignores its ctx
				return nil
			})
		}
		return nil
	}
	must(t, inner.Add(ctx, leaf))
	must(t, outer.Add(ctx, inner))
	must(t, service.Start(ctx, outer))
	inner.Crash(errBoom)
	// The outer goroutine now waits (waitStuck on inner's clock) for the
	// leaf's abandoned task.
	must(t, fake.BlockUntil(ctx, 1))
	dl, _ := fake.NextDeadline()
	if wait := dl.Sub(fake.Now()); wait > time.Minute {
		t.Errorf("the restart of nested supervisor waits up to %v for stuck code", wait)
	}
	fake.Advance(service.DefaultStopTimeout + time.Second)
	tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := outer.Add(tctx, newD("probe"), supervisor.ChildSpec{Restart: strategy.Temporary})
	cancel()
	if err != nil && !errors.Is(err, supervisor.ErrNotRunning) {
		t.Errorf("outer supervisor unresponsive while its nested child's restart waits: %v", err)
	}
	close(release)
	<-taskDone
	_ = outer.Stop(ctx)
}

// DEFECT R6: the supervisor's Stop exceeds its budget by about 20ms per
// child (abandonGrace) once the budget is spent: machinery.Stop, after
// abandoning its goroutine, stops every child again one after another with
// budget 0, and each such Stop waits abandonGrace for a hung hook
// (callBounded) or for stuck code (stuckError). With 100 children whose
// OnStop ignores its ctx, a 300ms Stop takes seconds. The docs promise
// "within its budget plus a few tens of milliseconds".
func TestReviewStopBudgetGrowsWithChildren(t *testing.T) {
	ctx := bg(t)
	const n, budget = 100, 300 * time.Millisecond
	s := newSup(supervisor.Spec{Service: service.Config{StopTimeout: budget}}, nil)
	release := make(chan struct{})
	var entered, returned atomic.Int64
	back := make(chan struct{}, 4*n)
	for i := range n {
		d := newD("c" + string(rune('A'+i/26)) + string(rune('a'+i%26)))
		d.onStop = func(context.Context, int32) error {
			entered.Add(1)
			defer func() { returned.Add(1); back <- struct{}{} }()
			<-release // ignores its ctx
			return nil
		}
		must(t, s.Add(ctx, d))
	}
	must(t, service.Start(ctx, s))
	began := time.Now()
	_ = s.Stop(ctx)
	took := time.Since(began)
	close(release)
	// Wait for the abandoned goroutine: the supervisor starts again once it
	// has returned.
	for {
		var err error
		if s.State() == service.Init { // a refused restart rolled it back
			err = service.Start(ctx, s)
		} else {
			err = s.Restart(ctx)
		}
		if !errors.Is(err, service.ErrStopTimeout) {
			must(t, err)
			break
		}
	}
	must(t, s.Stop(ctx))
	for returned.Load() < entered.Load() {
		recv(t, back, "an abandoned OnStop")
	}
	if took > budget+time.Second {
		t.Errorf("Stop with a %v budget took %v with %d hung children", budget, took, n)
	}
}

// DEFECT R7: a manual restart (RestartChild, or the child's own Restart;
// manualRestart) restarts the old instance and ignores the child's
// Replacement, although ChildSpec.Replacement "builds a fresh service at
// each restart instead of restarting the old instance" and the package doc
// says a child with a live task of its last run is never started again
// "unless a Replacement factory builds a fresh instance". So RestartChild of
// a terminated child whose old task ignored its ctx fails with
// ErrStopTimeout instead of starting a fresh instance.
func TestReviewRestartChildIgnoresReplacement(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{}, nil)
	release, taskDone := make(chan struct{}), make(chan struct{})
	old := newD("r")
	old.onStart = func(context.Context, int32) error {
		return old.Go("stubborn", func(context.Context) error {
			defer close(taskDone)
			<-release // ignores its ctx
			return nil
		})
	}
	var built atomic.Int32
	must(t, s.Add(ctx, old, supervisor.ChildSpec{ID: "r", ShutdownTimeout: 50 * time.Millisecond,
		Replacement: func() service.Service { built.Add(1); return newD("r") }}))
	must(t, service.Start(ctx, s))
	_ = s.Terminate(ctx, "r") // abandons the stubborn task (ErrStopTimeout)
	err := s.RestartChild(ctx, "r")
	if err != nil || built.Load() != 1 || s.Child("r") == service.Service(old) {
		t.Errorf("RestartChild with a Replacement: %v; %d instances built", err, built.Load())
	}
	close(release)
	<-taskDone
	must(t, s.Stop(ctx))
}
