package service_test

// Regression tests for the defects a hostile review of package service
// found (each failed on the engine as reviewed, and passes since its fix).
// The comment above each test names the code path and the defect.

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// rsvc is a service with OnStart, OnRestart, OnStop, OnShutdown as fields.
type rsvc struct {
	service.Base
	onStart, onRestart, onStop, onShutdown func(ctx context.Context) error
}

func newRsvc(name string, cfg service.Config) *rsvc {
	s := &rsvc{}
	cfg.Name, cfg.Logger = name, &quiet
	s.Configure(cfg)
	return s
}

func (s *rsvc) OnStart(ctx context.Context) error    { return callIf(s.onStart, ctx) }
func (s *rsvc) OnRestart(ctx context.Context) error  { return callIf(s.onRestart, ctx) }
func (s *rsvc) OnStop(ctx context.Context) error     { return callIf(s.onStop, ctx) }
func (s *rsvc) OnShutdown(ctx context.Context) error { return callIf(s.onShutdown, ctx) }

// waitForFrame waits (bounded) until some goroutine's stack holds frame:
// the only way to know a call has reached a blocking point inside the
// engine. It polls with Gosched, never sleeps.
func waitForFrame(t *testing.T, frame string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if bytes.Contains(buf[:n], []byte(frame)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine reached %s", frame)
		}
		runtime.Gosched()
	}
}

// R2-1. Code path: restart.go:finishRestart → notifyRestart marks
// OnRestart's ctx with the old run; stop.go:stop sees "inside", finds the
// restart transition in state Shutdown (not finishing) and returns nil
// without doing anything. The restart then starts the service: a Stop
// called from OnRestart with its own ctx returns nil ("begins the stop")
// but is silently dropped, and the service ends Running.
func TestReview01StopFromOnRestartIsDropped(t *testing.T) {
	ctx := bg(t)
	s := newRsvc("s", service.Config{})
	var stopErr error
	s.onRestart = func(hctx context.Context) error {
		stopErr = s.Stop(hctx)
		return nil
	}
	must(t, service.Start(ctx, s))
	defer func() { _ = s.Stop(context.Background()) }()
	// The Stop overtakes the Restart: no new run starts, and the Restart
	// says why.
	if err := s.Restart(ctx); !errors.Is(err, service.ErrStopped) {
		t.Fatalf("Restart overtaken by a Stop: %v, want ErrStopped", err)
	}
	if stopErr != nil {
		t.Fatalf("Stop from OnRestart: %v", stopErr)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := s.WaitUntilStopped(wctx); err != nil || s.State() != service.Shutdown {
		t.Fatalf("Stop from OnRestart returned nil but was dropped: state %s, WaitUntilStopped: %v", s.State(), err)
	}
}

// R2-2. Code path: stop.go:stop aborts a start only when it sees the
// state Starting at the moment it looks. A Stop that arrives during a
// Restart's stop half or its OnRestart (state Stopping/Shutdown) only
// waits for the whole restart transition (waitTransition), never marks
// the coming start aborted: the restart's start half runs with nothing
// cancelling it, a start hook waiting on its ctx hangs, and Stop returns
// ErrStopTimeout after its budget, leaving the service Starting (then
// Running). A Stop arriving during a plain Start would have aborted it.
func TestReview02StopDuringRestartDoesNotAbortStartHalf(t *testing.T) {
	ctx := bg(t)
	s := newRsvc("s", service.Config{StopTimeout: 500 * time.Millisecond})
	inRestart, releaseRestart := make(chan struct{}), make(chan struct{})
	runs := 0
	s.onStart = func(hctx context.Context) error {
		runs++
		if runs == 1 {
			return nil
		}
		<-hctx.Done() // the second start waits for its ctx: only a Stop ends it
		return hctx.Err()
	}
	s.onRestart = func(context.Context) error {
		close(inRestart)
		<-releaseRestart
		return nil
	}
	must(t, service.Start(ctx, s))
	restartDone := make(chan error, 1)
	go func() { restartDone <- s.Restart(context.Background()) }()
	<-inRestart
	stopDone := make(chan error, 1)
	go func() { stopDone <- s.Stop(context.Background()) }()
	waitForFrame(t, "service.(*Base).waitTransition")
	close(releaseRestart)
	err := noHang(t, func() error { return <-stopDone })
	st := s.State()
	// Cleanup: a Stop now sees Starting and aborts the start half.
	_ = s.Stop(context.Background())
	<-restartDone
	if err != nil || (st != service.Shutdown && st != service.Init) {
		t.Fatalf("Stop during a Restart: %v, state after it %s; want the restart's start aborted and the service down", err, st)
	}
}

// R2-3. Code path: wait.go:SetShutdown fires the shutdown event of b.cur,
// which in Init is the COMING run (made by Done/current before the first
// start, or by rollback's newRun after a failed start), and start.go:startRun
// reuses that run. SetShutdown "before start does nothing" per its doc, yet
// it pre-signals the next run: the next Stop's WaitForShutdown wait is
// skipped.
func TestReview03SetShutdownBeforeStartLeaksIntoRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, s *rsvc)
	}{
		{"Done asked before the first start", func(t *testing.T, s *rsvc) { _ = s.Done() }},
		{"after a failed start", func(t *testing.T, s *rsvc) {
			s.onStart = func(context.Context) error { return errBoom }
			if err := service.Start(bg(t), s); !errors.Is(err, errBoom) {
				t.Fatalf("first Start: %v", err)
			}
			s.onStart = nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newRsvc("s", service.Config{WaitForShutdown: true, ShutdownTimeout: 200 * time.Millisecond})
			tc.prepare(t, s)
			s.SetShutdown() // in Init: must do nothing
			must(t, service.Start(bg(t), s))
			if err := s.Stop(context.Background()); !errors.Is(err, service.ErrShutdownTimeout) {
				t.Fatalf("Stop: %v; want ErrShutdownTimeout (SetShutdown was only called in Init)", err)
			}
		})
	}
}

// R2-4. Code path: deps.go:AddRuntimeDependency accepts a child while the
// parent is Starting past its children step (OnStarted, or a task during
// the start) and starts it; rollback.go:rollback stops only p.started (the
// children the children step started). If the parent's start then fails,
// the rollback leaves the runtime child Running (with its tasks) under a
// parent in Init: "nothing keeps running" is violated.
func TestReview04RuntimeDependencyLeaksOnRollback(t *testing.T) {
	ctx := bg(t)
	parent, child := newHookSvc("parent"), newHookSvc("child")
	child.onStart = func(context.Context) error { return child.Go("work", blockTask) }
	parent.onStarted = func(context.Context) error {
		// A task adds it: OnStarted itself may not (ErrAddedInOnStart).
		added := make(chan error, 1)
		if err := parent.Go("adder", func(ctx context.Context) error {
			added <- parent.AddRuntimeDependency(ctx, child)
			return nil
		}); err != nil {
			return err
		}
		if err := <-added; err != nil {
			return err
		}
		return errBoom
	}
	defer func() { _ = child.Stop(context.Background()) }()
	if err := service.Start(ctx, parent); !errors.Is(err, errBoom) {
		t.Fatalf("Start: %v", err)
	}
	if st := child.State(); st == service.Running {
		t.Fatalf("parent rolled back to %s, its runtime child still %s with its task", parent.State(), st)
	}
}

// R2-5. Code path: bounded.go:callBounded gives every abandoned hook
// abandonGrace (20ms) after its bound, and stop.go:stopSteps calls the
// children one after another, each with what remains (0 once spent): each
// child whose OnStop and OnShutdown hang adds ~40ms after the budget. With
// 25 such children a Stop exceeds its budget by ~1s, not "tens of ms".
// It runs in a synctest bubble: the bound is on the bubble's clock, which
// a loaded machine does not move.
func TestReview05StopOvershootGrowsWithHungChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 25
		budget := 100 * time.Millisecond
		release := make(chan struct{})
		var hung sync.WaitGroup
		hung.Add(2 * n) // each child's OnStop and OnShutdown
		hang := func(context.Context) error {
			defer hung.Done()
			<-release
			return nil
		}
		root := newRsvc("root", service.Config{StopTimeout: budget})
		for i := range n {
			c := newRsvc("c"+string(rune('a'+i)), service.Config{})
			c.onStop, c.onShutdown = hang, hang
			must(t, root.AddDependency(c))
		}
		must(t, service.Start(bg(t), root))
		began := time.Now()
		err := root.Stop(context.Background())
		took := time.Since(began)
		close(release)
		hung.Wait() // the abandoned hooks, before goleak looks
		if !errors.Is(err, service.ErrStopTimeout) {
			t.Fatalf("Stop: %v", err)
		}
		if took > budget+500*time.Millisecond {
			t.Fatalf("Stop took %v with a budget of %v (%d hung children)", took, budget, n)
		}
	})
}

// R2-6. Code path: bounded.go:addStuck appends on every abandonment;
// only stuckTree prunes, and it runs only for a Stop of a service already
// down, a supervisor's Start, or a supervisor's restart. An unsupervised
// service stopped and started again (or Restart-ed) over and over, whose
// OnStop overruns the budget each time, keeps every entry forever, even
// after each abandoned hook has returned: b.stuck grows without bound.
func TestReview06StuckNeverPruned(t *testing.T) {
	const cycles = 6
	s := newRsvc("s", service.Config{StopTimeout: 5 * time.Millisecond})
	must(t, service.Start(bg(t), s))
	for range cycles {
		release, done := make(chan struct{}), make(chan struct{})
		s.onStop = func(context.Context) error {
			defer close(done)
			<-release
			return nil
		}
		if err := s.Restart(bg(t)); !errors.Is(err, service.ErrStopTimeout) {
			t.Fatalf("Restart: %v", err)
		}
		close(release)
		<-done // the abandoned hook has returned
	}
	s.onStop = nil
	must(t, s.Stop(context.Background()))
	n := reflect.ValueOf(s).Elem().FieldByName("Base").FieldByName("stuck").Len()
	if n > 1 {
		t.Fatalf("Base.stuck holds %d entries after %d cycles, all returned long ago", n, cycles)
	}
}

// R2-7. Code path: rollback.go:rollback records the cause with r.setReason
// and closes Done (r.stop) BEFORE stopSteps joins the tasks; wait.go:
// WaitUntilStopped returns "the crash reason as soon as the run crashed".
// So during a rolled-back start WaitUntilStopped returns at once while the
// rollback is still running (a task still runs, OnStop/OnShutdown have
// not run): it says "the run has ended" when it has not.
func TestReview07WaitUntilStoppedReturnsBeforeRollbackEnds(t *testing.T) {
	s := newRsvc("s", service.Config{StopTimeout: 10 * time.Second})
	inStart, proceed, release, taskDone := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	s.onStart = func(context.Context) error {
		if err := s.Go("slow", func(context.Context) error {
			defer close(taskDone)
			<-release // ignores its ctx for a while
			return nil
		}); err != nil {
			return err
		}
		close(inStart)
		<-proceed
		return errBoom
	}
	startDone := make(chan error, 1)
	go func() { startDone <- service.Start(context.Background(), s) }()
	<-inStart
	waited := make(chan error, 1)
	go func() { waited <- s.WaitUntilStopped(context.Background()) }()
	waitForFrame(t, "service.(*Base).WaitUntilStopped")
	close(proceed)
	watchdog := time.NewTimer(time.Second) // if WaitUntilStopped is right, it waits for release
	var early bool
	var werr error
	select {
	case werr = <-waited:
		early = true
	case <-watchdog.C:
	}
	close(release)
	<-taskDone
	if err := <-startDone; !errors.Is(err, errBoom) {
		t.Errorf("Start: %v", err)
	}
	if !early {
		<-waited
	}
	if early {
		t.Fatalf("WaitUntilStopped returned (%v) while the rollback was still joining a task", werr)
	}
}

// R2-8. Code path: rollback.go:rollback bounds the undo of a failed start by
// newLimit(context.Background(), &cfg, -1): the child's own StopTimeout,
// else DefaultStopTimeout (10s). A supervisor starts a child with the
// child's shutdown timeout as its stop budget (ChildSpec.ShutdownTimeout),
// but that budget never reaches the rollback: a child whose OnStarted
// fails and whose OnStop hangs holds the supervisor's goroutine (and Add)
// 10s instead of its 100ms shutdown timeout.
func TestReview08RollbackIgnoresChildShutdownTimeout(t *testing.T) {
	ctx := bg(t)
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
	must(t, service.Start(ctx, sup))
	defer func() { _ = sup.Stop(context.Background()) }()
	release, hookDone := make(chan struct{}), make(chan struct{})
	c := newHookSvc("c")
	c.onStarted = func(context.Context) error { return errBoom }
	c.onStop = func(context.Context) error {
		defer close(hookDone)
		<-release
		return nil
	}
	const shutdown = 100 * time.Millisecond
	began := time.Now()
	err := sup.Add(ctx, c, supervisor.ChildSpec{ShutdownTimeout: shutdown})
	took := time.Since(began)
	close(release)
	<-hookDone
	if !errors.Is(err, errBoom) {
		t.Fatalf("Add: %v", err)
	}
	if took > shutdown+time.Second {
		t.Fatalf("the failed start's rollback held Add (and the supervisor) %v; child shutdown timeout %v", took, shutdown)
	}
}
