package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// clocked is a hookSvc on a fake clock.
func clocked(name string) (*hookSvc, *clock.Fake) {
	clk := clock.NewFake(t0)
	h := &hookSvc{}
	h.Configure(service.Config{Name: name, Logger: &quiet, Clock: clk})
	return h, clk
}

func TestSleep(t *testing.T) {
	const d = time.Minute
	cases := []struct {
		name    string
		start   bool                                                           // start the service before Sleep
		before  func(h *hookSvc)                                               // before Sleep is called
		during  func(t *testing.T, h *hookSvc, clk *clock.Fake, cancel func()) // while Sleep waits (its timer armed)
		want    error
		armless bool // Sleep returns without arming a timer
	}{
		{name: "elapses on the fake clock", start: true,
			during: func(t *testing.T, h *hookSvc, clk *clock.Fake, _ func()) {
				clk.Advance(d - time.Nanosecond)
				clk.Advance(time.Nanosecond)
			}},
		{name: "Stop ends it early", start: true, want: service.ErrStopped,
			during: func(t *testing.T, h *hookSvc, _ *clock.Fake, _ func()) { must(t, h.Stop(bg(t))) }},
		{name: "Crash ends it early with the reason", start: true, want: errBoom,
			during: func(t *testing.T, h *hookSvc, _ *clock.Fake, _ func()) { h.Crash(errBoom) }},
		{name: "ctx ends", start: true, want: context.Canceled,
			during: func(t *testing.T, _ *hookSvc, _ *clock.Fake, cancel func()) { cancel() }},
		{name: "called before Start, ended by Stop", want: service.ErrStopped,
			during: func(t *testing.T, h *hookSvc, _ *clock.Fake, _ func()) {
				must(t, service.Start(bg(t), h))
				must(t, h.Stop(bg(t)))
			}},
		{name: "on an already crashed service", start: true, want: errBoom, armless: true,
			before: func(h *hookSvc) { h.Crash(errBoom) }},
		{name: "on a stopped service", start: true, want: service.ErrStopped, armless: true,
			before: func(h *hookSvc) { _ = h.Stop(context.Background()) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			h, clk := clocked("sleeper")
			if tc.start {
				must(t, service.Start(ctx, h))
			}
			t.Cleanup(func() { _ = h.Stop(context.Background()) })
			if tc.before != nil {
				tc.before(h)
			}
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			res := make(chan error, 1)
			go func() { res <- h.Sleep(sctx, d) }()
			if tc.armless {
				if err := <-res; !errors.Is(err, tc.want) {
					t.Fatalf("Sleep: %v, want %v", err, tc.want)
				}
				return
			}
			must(t, clk.BlockUntil(ctx, 1))
			tc.during(t, h, clk, cancel)
			err := <-res
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Sleep: %v, want nil", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Sleep: %v, want %v", err, tc.want)
			}
			if tc.want == nil && clk.Now().Sub(t0) != d {
				t.Fatalf("Sleep returned at %v", clk.Now().Sub(t0))
			}
		})
	}
}

// The usual loop `if err := s.Sleep(ctx, d); err != nil { return err }` in a
// task must not turn a Stop into an error.
func TestSleepLoopTaskStopsCleanly(t *testing.T) {
	ctx := bg(t)
	h, clk := clocked("looper")
	h.onStart = func(context.Context) error {
		return h.Go("loop", func(ctx context.Context) error {
			for {
				if err := h.Sleep(ctx, time.Second); err != nil {
					return err
				}
			}
		})
	}
	must(t, service.Start(ctx, h))
	must(t, clk.BlockUntil(ctx, 1))
	if err := h.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestAwait(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, h *hookSvc, ch chan int, cancel func())
		v     int
		ok    bool
		want  error
	}{
		{"receives a value", func(t *testing.T, _ *hookSvc, ch chan int, _ func()) { ch <- 7 }, 7, true, nil},
		{"closed channel", func(t *testing.T, _ *hookSvc, ch chan int, _ func()) { close(ch) }, 0, false, nil},
		{"service stopped first", func(t *testing.T, h *hookSvc, _ chan int, _ func()) { must(t, h.Stop(bg(t))) },
			0, false, service.ErrStopped},
		{"service crashed first", func(t *testing.T, h *hookSvc, _ chan int, _ func()) { h.Crash(errBoom) },
			0, false, errBoom},
		{"ctx ended", func(t *testing.T, _ *hookSvc, _ chan int, cancel func()) { cancel() },
			0, false, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			h := newHookSvc("awaiter")
			must(t, service.Start(ctx, h))
			t.Cleanup(func() { _ = h.Stop(context.Background()) })
			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			ch := make(chan int, 1)
			tc.setup(t, h, ch, cancel)
			v, ok, err := service.Await(actx, h, ch)
			if v != tc.v || ok != tc.ok {
				t.Errorf("Await = %v, %v; want %v, %v", v, ok, tc.v, tc.ok)
			}
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("Await error %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("Await error %v, want %v", err, tc.want)
			}
		})
	}
}

// Await blocked on a channel is woken by the Stop.
func TestAwaitWokenByStop(t *testing.T) {
	ctx := bg(t)
	h := newHookSvc("awaiter")
	must(t, service.Start(ctx, h))
	res := make(chan error, 1)
	go func() {
		_, _, err := service.Await(ctx, h, make(chan string))
		res <- err
	}()
	must(t, h.Stop(ctx))
	if err := <-res; !errors.Is(err, service.ErrStopped) {
		t.Fatalf("Await: %v", err)
	}
}

func TestAwaitFirst(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, h *hookSvc, chans []chan string, cancel func())
		i     int
		v     string
		ok    bool
		want  error
	}{
		{"picks the ready channel", func(t *testing.T, _ *hookSvc, c []chan string, _ func()) { c[1] <- "one" },
			1, "one", true, nil},
		{"a closed channel is ready", func(t *testing.T, _ *hookSvc, c []chan string, _ func()) { close(c[2]) },
			2, "", false, nil},
		{"service stopped", func(t *testing.T, h *hookSvc, _ []chan string, _ func()) { must(t, h.Stop(bg(t))) },
			-1, "", false, service.ErrStopped},
		{"service crashed", func(t *testing.T, h *hookSvc, _ []chan string, _ func()) { h.Crash(errBoom) },
			-1, "", false, errBoom},
		{"ctx ended", func(t *testing.T, _ *hookSvc, _ []chan string, cancel func()) { cancel() },
			-1, "", false, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			h := newHookSvc("awaiter")
			must(t, service.Start(ctx, h))
			t.Cleanup(func() { _ = h.Stop(context.Background()) })
			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			chans := []chan string{make(chan string, 1), make(chan string, 1), make(chan string, 1)}
			tc.setup(t, h, chans, cancel)
			i, v, ok, err := service.AwaitFirst(actx, h, chans[0], chans[1], chans[2])
			if i != tc.i || v != tc.v || ok != tc.ok {
				t.Errorf("AwaitFirst = %d, %q, %v; want %d, %q, %v", i, v, ok, tc.i, tc.v, tc.ok)
			}
			switch {
			case tc.want == nil && err != nil:
				t.Errorf("AwaitFirst error %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("AwaitFirst error %v, want %v", err, tc.want)
			}
		})
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestDoneBeforeFirstStart(t *testing.T) {
	ctx := bg(t)
	h := newHookSvc("early")
	done := h.Done()
	if isClosed(done) || h.ShouldStop() {
		t.Fatal("Done closed before start")
	}
	// WaitUntilStopped on a never-started service returns at once, even
	// after Done made the coming run.
	must(t, h.WaitUntilStopped(ctx))
	must(t, service.Start(ctx, h))
	if isClosed(done) || h.ShouldStop() {
		t.Fatal("Done closed while running")
	}
	must(t, h.Stop(ctx))
	if !isClosed(done) || !h.ShouldStop() {
		t.Fatal("Done from before the start not closed by Stop")
	}
}

func TestWaitUntilStopped(t *testing.T) {
	t.Run("never started", func(t *testing.T) {
		h := newHookSvc("idle")
		must(t, h.WaitUntilStopped(bg(t)))
	})
	t.Run("ctx ends while running", func(t *testing.T) {
		ctx := bg(t)
		h := newHookSvc("running")
		must(t, service.Start(ctx, h))
		defer func() { must(t, h.Stop(ctx)) }()
		wctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := h.WaitUntilStopped(wctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("WaitUntilStopped: %v", err)
		}
	})
	t.Run("crash reason at once", func(t *testing.T) {
		ctx := bg(t)
		h := newHookSvc("crasher")
		must(t, service.Start(ctx, h))
		h.Crash(errBoom)
		if err := h.WaitUntilStopped(ctx); !errors.Is(err, errBoom) {
			t.Fatalf("WaitUntilStopped: %v", err)
		}
		must(t, h.Stop(ctx))
	})
	t.Run("returns once the stop has finished", func(t *testing.T) {
		ctx := bg(t)
		rec := &recorder{}
		h := newHookSvc("slow")
		release := make(chan struct{})
		h.onStop = func(context.Context) error { <-release; return nil }
		h.onShutdown = func(context.Context) error { rec.add("OnShutdown"); return nil }
		must(t, service.Start(ctx, h))
		stopped := make(chan error, 1)
		go func() { stopped <- h.Stop(ctx) }()
		<-h.Done() // the stop has begun
		waited := make(chan error, 1)
		go func() { waited <- h.WaitUntilStopped(ctx) }()
		close(release)
		must(t, <-waited)
		if h.State() != service.Shutdown {
			t.Fatalf("state %v when WaitUntilStopped returned", h.State())
		}
		wantEvents(t, rec.take(), "OnShutdown")
		must(t, <-stopped)
	})
}

type ctxKey struct{}

func TestRunContext(t *testing.T) {
	t.Run("cause after Stop", func(t *testing.T) {
		ctx := bg(t)
		h := newHookSvc("s")
		var runCtx context.Context
		h.onStart = func(ctx context.Context) error { runCtx = ctx; return nil }
		must(t, service.Start(ctx, h))
		if runCtx.Err() != nil {
			t.Fatal("run ctx ended while running")
		}
		must(t, h.Stop(ctx))
		if !errors.Is(runCtx.Err(), context.Canceled) || !errors.Is(context.Cause(runCtx), service.ErrStopped) {
			t.Fatalf("after Stop: err %v, cause %v", runCtx.Err(), context.Cause(runCtx))
		}
	})
	t.Run("cause after Crash", func(t *testing.T) {
		ctx := bg(t)
		h := newHookSvc("s")
		taskCtx := make(chan context.Context, 1)
		h.onStart = func(context.Context) error {
			return h.Go("t", func(ctx context.Context) error {
				taskCtx <- ctx
				<-ctx.Done()
				return nil
			})
		}
		must(t, service.Start(ctx, h))
		tctx := <-taskCtx
		h.Crash(errBoom)
		<-tctx.Done()
		if !errors.Is(context.Cause(tctx), errBoom) {
			t.Fatalf("cause after Crash: %v", context.Cause(tctx))
		}
		must(t, h.Stop(ctx))
	})
	t.Run("start ctx values flow, its cancellation does not", func(t *testing.T) {
		ctx := bg(t)
		sctx, cancel := context.WithCancel(context.WithValue(ctx, ctxKey{}, "from start"))
		h := newHookSvc("s")
		seen := make(chan any, 1)
		var runCtx context.Context
		h.onStart = func(ctx context.Context) error {
			runCtx = ctx
			return h.Go("t", func(ctx context.Context) error {
				seen <- ctx.Value(ctxKey{})
				<-ctx.Done()
				return ctx.Err()
			})
		}
		must(t, service.Start(sctx, h))
		if v := <-seen; v != "from start" {
			t.Fatalf("task saw value %v", v)
		}
		cancel()
		if runCtx.Err() != nil || h.State() != service.Running || h.ShouldStop() {
			t.Fatalf("cancelling the Start ctx stopped the service: %v, %v", runCtx.Err(), h.State())
		}
		must(t, h.Stop(ctx))
	})
	t.Run("stop hooks get an uncancelled ctx with the Stop caller's values", func(t *testing.T) {
		ctx := bg(t)
		h := newHookSvc("s")
		type seenCtx struct {
			err         error
			val         any
			hasDeadline bool
		}
		seen := map[string]seenCtx{}
		record := func(name string) func(ctx context.Context) error {
			return func(ctx context.Context) error {
				_, dl := ctx.Deadline()
				seen[name] = seenCtx{ctx.Err(), ctx.Value(ctxKey{}), dl}
				return nil
			}
		}
		h.onStop, h.onShutdown = record("OnStop"), record("OnShutdown")
		must(t, service.Start(ctx, h))
		must(t, h.Stop(context.WithValue(ctx, ctxKey{}, "from stop")))
		for _, name := range []string{"OnStop", "OnShutdown"} {
			s, ok := seen[name]
			if !ok || s.err != nil || s.val != "from stop" || !s.hasDeadline {
				t.Errorf("%s ctx: %+v (called %v); want not cancelled, Stop's value, a deadline", name, s, ok)
			}
		}
	})
	t.Run("a parent's cancellation does not reach its child", func(t *testing.T) {
		ctx := bg(t)
		parent, child := newHookSvc("parent"), newHookSvc("child")
		var childCtx context.Context
		child.onStart = func(ctx context.Context) error { childCtx = ctx; return nil }
		childLive := false
		parent.onStop = func(context.Context) error {
			childLive = childCtx.Err() == nil && !child.ShouldStop()
			return nil
		}
		must(t, parent.AddDependency(child))
		must(t, service.Start(ctx, parent))
		must(t, parent.Stop(ctx))
		if !childLive {
			t.Fatal("child's run ctx was cancelled with its parent's, before the child stopped")
		}
		if !errors.Is(context.Cause(childCtx), service.ErrStopped) {
			t.Fatalf("child cause %v", context.Cause(childCtx))
		}
	})
}

// After a start that rolled back, the service is in Init again: Done must
// be the channel of the coming run, not the closed one of the failed start.
func TestDoneAfterRolledBackStart(t *testing.T) {
	ctx := bg(t)
	h := newHookSvc("retry")
	h.onStarted = func(context.Context) error { return errBoom }
	if err := service.Start(ctx, h); !errors.Is(err, errBoom) {
		t.Fatalf("Start: %v", err)
	}
	if h.State() != service.Init {
		t.Fatalf("state %v", h.State())
	}
	if isClosed(h.Done()) || h.ShouldStop() {
		t.Fatal("Done closed / ShouldStop true in Init after a rolled-back start")
	}
}

func TestWaitStarted(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	started := make(chan error, 1)
	go func() { started <- p.WaitStarted(ctx) }() // before the start: waits for the coming run
	must(t, service.Start(ctx, p))
	must(t, <-started)
	must(t, p.WaitStarted(ctx)) // running: at once
	must(t, p.Stop(ctx))
	must(t, p.WaitStarted(ctx)) // it did start
}
