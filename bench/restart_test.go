package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/thejerf/suture/v4"
)

// BenchmarkRestart measures restart latency: from a child's crash to its
// replacement running again. Each iteration asks the running child to crash
// and waits until the next run has entered its function, which signals over
// a channel; every variant pays the same two channel handoffs.
//
//   - mode/return-error: a supervisor (MaxRestarts 1<<30 in 1ms, so the
//     limit never trips; no OnEvent, as suture's EventHook is a no-op)
//     with one service.Func child whose function returns an error when
//     told to.
//   - mode/Crash: the same child crashed from outside with Crash(err); its
//     function returns when its context is cancelled.
//   - suture: a suture v4 supervisor (FailureThreshold 1<<30, so it never
//     backs off) with one service returning an error when told to.
//   - goroutine: floor 1, a bare goroutine whose loop starts a new one when
//     the previous one returns.
//   - goroutine-ctx-recover: floor 2, the same with a context per run
//     (cancelled when the run ends) and a recover in each goroutine.
//
// After the loop each variant checks that the function was entered b.N+1
// times, so a restart that did not happen cannot look fast; mode's also
// check that the supervisor counted b.N restarts of the child.
func BenchmarkRestart(b *testing.B) {
	b.Run("mode/return-error", func(b *testing.B) { benchModeRestart(b, false, nil) })
	b.Run("mode/Crash", func(b *testing.B) { benchModeRestart(b, true, nil) })
	b.Run("suture", benchSutureRestart)
	b.Run("goroutine", func(b *testing.B) { benchFloorRestart(b, false) })
	b.Run("goroutine-ctx-recover", func(b *testing.B) { benchFloorRestart(b, true) })
}

// crasher is the body every variant runs: it counts and signals each run,
// then waits to be told to crash or to stop.
type crasher struct {
	runs     atomic.Int64
	entered  chan struct{}
	crash    chan struct{}
	watchdog *time.Timer // one per benchmark round, so waits cost no timer
}

func newCrasher() *crasher {
	return &crasher{
		entered:  make(chan struct{}),
		crash:    make(chan struct{}),
		watchdog: time.NewTimer(5 * time.Minute),
	}
}

func (c *crasher) run(ctx context.Context) error {
	c.runs.Add(1)
	select {
	case c.entered <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.crash:
		return errCrash
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wait waits for the next run to be entered, with a watchdog.
func (c *crasher) wait(b *testing.B) {
	select {
	case <-c.entered:
	case <-c.watchdog.C:
		b.Fatalf("hung (after %d runs)", c.runs.Load())
	}
}

// measure times b.N restarts: it waits for the first run, then crashes
// the running one with crash (nil: tell it to return an error) and waits
// for the next, b.N times; it ends with check.
func (c *crasher) measure(b *testing.B, crash func()) {
	c.wait(b)
	b.ResetTimer()
	for range b.N {
		if crash != nil {
			crash()
		} else {
			c.crash <- struct{}{}
		}
		c.wait(b)
	}
	b.StopTimer()
	c.check(b)
}

// check stops the watchdog and checks that every crash was followed by a
// new run.
func (c *crasher) check(b *testing.B) {
	c.watchdog.Stop()
	if got, want := c.runs.Load(), int64(b.N)+1; got != want {
		b.Fatalf("%d runs, want %d", got, want)
	}
}

// lenient is a supervisor spec whose limit never trips in a benchmark.
func lenient(st supervisor.Spec) supervisor.Spec {
	st.Service = quiet("sup")
	st.MaxRestarts = 1 << 30
	st.Window = time.Millisecond
	return st
}

// benchModeRestart measures mode's restart; attach, if not nil, is called
// once the supervisor has started and returns what undoes it.
func benchModeRestart(b *testing.B, viaCrash bool, attach func(b *testing.B, sup *supervisor.Supervisor) (detach func())) {
	ctx := context.Background()
	c := newCrasher()
	f := service.Func("crasher", c.run)
	f.Configure(quiet("crasher"))
	// No OnEvent: like suture's no-op EventHook, nobody consumes events.
	sup := supervisor.New(lenient(supervisor.Spec{}))
	if err := sup.Add(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	if err := service.Start(ctx, sup); err != nil {
		b.Fatal(err)
	}
	var crash func()
	if viaCrash {
		crash = func() { f.Crash(errCrash) }
	}
	if attach != nil {
		defer attach(b, sup)()
	}
	c.measure(b, crash)
	// Every crash was handled as one restart by the supervisor (not, say,
	// by a restart of the whole supervisor).
	if got := sup.Children()[0].RestartCount; got != b.N {
		b.Fatalf("RestartCount %d, want %d", got, b.N)
	}
	if err := sup.Stop(ctx); err != nil {
		b.Fatal(err)
	}
}

// events counts a supervisor's events.
type events struct {
	crashed, restarted, startFailed atomic.Int64
}

func (e *events) count(ev supervisor.Event) {
	switch ev.Kind {
	case supervisor.ChildCrashed:
		e.crashed.Add(1)
	case supervisor.ChildRestarted:
		e.restarted.Add(1)
	case supervisor.StartFailed:
		e.startFailed.Add(1)
	}
}

// sutureCrasher adapts a crasher to suture.Service.
type sutureCrasher struct{ *crasher }

func (s sutureCrasher) Serve(ctx context.Context) error { return s.run(ctx) }
func (sutureCrasher) String() string                    { return "crasher" }

func benchSutureRestart(b *testing.B) {
	c := newCrasher()
	sup := suture.New("sup", sutureSpec())
	sup.Add(sutureCrasher{c})
	stop := serveSuture(sup)
	c.measure(b, nil)
	if err := stop(); err != nil {
		b.Fatal(err)
	}
}

// benchFloorRestart runs the floor: a loop goroutine that starts the run
// in a new goroutine and starts another when it returns.
func benchFloorRestart(b *testing.B, ctxRecover bool) {
	c := newCrasher()
	loopDone := make(chan struct{})
	parent, cancelAll := context.WithCancel(context.Background())
	go func() {
		defer close(loopDone)
		if ctxRecover {
			floorCtxRecover(parent, c.run)
		} else {
			floorBare(parent, c.run)
		}
	}()
	c.measure(b, nil)
	cancelAll()
	<-loopDone
}

// floorBare restarts fn in a new goroutine each time it returns, until
// parent is done.
func floorBare(parent context.Context, fn func(context.Context) error) {
	exited := make(chan error)
	for parent.Err() == nil {
		go func() { exited <- fn(parent) }()
		<-exited
	}
}

// floorCtxRecover is floorBare with a context per run and panics recovered
// into errors.
func floorCtxRecover(parent context.Context, fn func(context.Context) error) {
	exited := make(chan error)
	for parent.Err() == nil {
		ctx, cancel := context.WithCancel(parent)
		go func() {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
				exited <- err
			}()
			err = fn(ctx)
		}()
		err := <-exited
		cancel()
		_ = errors.Is(err, context.Canceled)
	}
}
