package service_test

// Review 19b: the package's documented claims, each pinned by a case.
// The doc sentence a case checks is quoted in its name or comment.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
)

// r19bStringer is a suture service that names itself.
type r19bStringer struct{}

func (r19bStringer) Serve(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (r19bStringer) String() string                  { return "named-suture" }

// r19bPlain is a suture service without a String method.
type r19bPlain struct{}

func (r19bPlain) Serve(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }

// r19bHealth is a service whose healthcheck counts its calls.
type r19bHealth struct {
	service.Base
	calls int
}

func (h *r19bHealth) Healthcheck(context.Context) error { h.calls++; return nil }

// TestReview19bBadArguments: the errors the doc lists for timers, Watch
// and the zero values, and "in each case nothing is started".
func TestReview19bBadArguments(t *testing.T) {
	nop := func(context.Context) error { return nil }
	started := func(t *testing.T, ctx context.Context) *probe {
		p := newProbe("p", &recorder{})
		startStopped(t, ctx, p)
		return p
	}
	cases := []struct {
		name string
		want error
		run  func(t *testing.T, ctx context.Context) (*probe, error)
	}{
		// "Named: An empty name is ErrBadArgument."
		{"Every Named empty", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Every(time.Hour, nop, service.Named(""))
		}},
		// "Workers: n < 1 is ErrBadArgument."
		{"Every Workers(0)", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Every(time.Hour, nop, service.Workers(0))
		}},
		{"Cron Workers(-1)", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("@hourly", nop, service.Workers(-1))
		}},
		// "Every returns ErrBadArgument for interval ≤ 0, a nil fn".
		{"Every interval 0", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Every(0, nop)
		}},
		{"Every negative interval", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Every(-time.Second, nop)
		}},
		{"Every nil fn", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Every(time.Hour, nil)
		}},
		// "ErrConflictingOptions for InLocation" (on Every).
		{"Every InLocation", service.ErrConflictingOptions, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Every(time.Hour, nop, service.InLocation(time.UTC))
		}},
		// "FixedDelay on a Cron timer is ErrConflictingOptions."
		{"Cron FixedDelay", service.ErrConflictingOptions, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("@hourly", nop, service.FixedDelay())
		}},
		// "A nil loc is ErrBadArgument".
		{"Cron InLocation(nil)", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("@hourly", nop, service.InLocation(nil))
		}},
		// "InLocation together with a CRON_TZ= or TZ= prefix ... is ErrConflictingOptions".
		{"Cron CRON_TZ with InLocation", service.ErrConflictingOptions, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("CRON_TZ=UTC 0 3 * * *", nop, service.InLocation(time.UTC))
		}},
		{"Cron TZ with InLocation", service.ErrConflictingOptions, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("TZ=UTC 0 3 * * *", nop, service.InLocation(time.UTC))
		}},
		{"Cron nil fn", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("@hourly", nil)
		}},
		// "ErrBadCronSpec ... for an empty or malformed spec or zone, or a spec that never fires".
		{"Cron empty spec", service.ErrBadCronSpec, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("", nop)
		}},
		{"Cron bad zone", service.ErrBadCronSpec, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("CRON_TZ=Nowhere/Atlantis 0 3 * * *", nop)
		}},
		{"Cron never fires (Feb 30)", service.ErrBadCronSpec, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			return p, p.Cron("0 0 30 2 *", nop)
		}},
		// "ErrNotStarted in state Init or Shutdown and ErrStopping once the
		// service is stopping or has crashed".
		{"Every in Init", service.ErrNotStarted, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			return p, p.Every(time.Hour, nop)
		}},
		{"Every after Stop", service.ErrNotStarted, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Stop(ctx))
			return p, p.Every(time.Hour, nop)
		}},
		{"Cron in Init", service.ErrNotStarted, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			return p, p.Cron("@hourly", nop)
		}},
		{"Cron after Stop", service.ErrNotStarted, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Stop(ctx))
			return p, p.Cron("@hourly", nop)
		}},
		{"Every on a crashed service", service.ErrStopping, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			p.Crash(errBoom)
			return p, p.Every(time.Hour, nop)
		}},
		{"Cron on a crashed service", service.ErrStopping, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			p.Crash(errBoom)
			return p, p.Cron("@hourly", nop)
		}},
		{"Defer on a crashed service", service.ErrStopping, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			p.Crash(errBoom)
			return p, p.Defer(func() error { t.Error("deferred on a crashed run ran"); return nil })
		}},
		// AddRuntimeDependency: "ErrStopping when this service is stopping,
		// crashed or shut down".
		{"AddRuntimeDependency on a crashed parent", service.ErrStopping, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			p.Crash(errBoom)
			c := newProbe("c", &recorder{})
			err := p.AddRuntimeDependency(ctx, c)
			wantChildren(t, p, 0)
			if c.State() != service.Init {
				t.Errorf("child state %v", c.State())
			}
			return p, err
		}},
		// Config: "negative: Start fails with ErrBadArgument".
		{"negative MonitoringInterval", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			p.Configure(service.Config{Name: "p", Logger: &quiet, MonitoringInterval: -time.Second})
			err := service.Start(ctx, p)
			if p.State() != service.Init {
				t.Errorf("state %v", p.State())
			}
			return p, err
		}},
		{"negative HeartbeatDeadline", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			p.Configure(service.Config{Name: "p", Logger: &quiet, HeartbeatDeadline: -time.Second})
			err := service.Start(ctx, p)
			if p.State() != service.Init {
				t.Errorf("state %v", p.State())
			}
			return p, err
		}},
		{"negative StopTimeout", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			p.Configure(service.Config{Name: "p", Logger: &quiet, StopTimeout: -time.Second})
			return p, service.Start(ctx, p)
		}},
		{"negative ShutdownTimeout", service.ErrBadArgument, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			p.Configure(service.Config{Name: "p", Logger: &quiet, ShutdownTimeout: -time.Second})
			return p, service.Start(ctx, p)
		}},
		// Start: "ErrAlreadyStarted unless s is in state Init" (Shutdown).
		{"Start after Stop", service.ErrAlreadyStarted, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := newProbe("p", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Stop(ctx))
			err := service.Start(ctx, p)
			if p.State() != service.Shutdown {
				t.Errorf("state %v", p.State())
			}
			return p, err
		}},
		{"Start on a crashed service", service.ErrAlreadyStarted, func(t *testing.T, ctx context.Context) (*probe, error) {
			p := started(t, ctx)
			p.Crash(errBoom)
			return p, service.Start(ctx, p)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			var p *probe
			err := noHang(t, func() error {
				var err error
				p, err = tc.run(t, ctx)
				return err
			})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			// "in each case nothing is started"
			if tasks := p.Tasks(); len(tasks) != 0 {
				t.Errorf("tasks started after a refused call: %v", tasks)
			}
			if timers := p.Timers(); len(timers) != 0 {
				t.Errorf("timers registered after a refused call: %v", timers)
			}
		})
	}
}

// TestReview19bWatchBadArguments: Watch's errors, and "a nil *Watchdog,
// whose methods do nothing".
func TestReview19bWatchBadArguments(t *testing.T) {
	ctx := bg(t)
	type res struct {
		w   *service.Watchdog
		err error
	}
	got := make(chan res, 4)
	h := newHookSvc("h")
	var stopCtx context.Context
	h.onStart = func(hctx context.Context) error {
		for _, c := range []struct {
			name string
			d    time.Duration
		}{{"", time.Second}, {"x", 0}, {"x", -time.Second}} {
			w, err := service.Watch(hctx, c.name, c.d)
			got <- res{w, err}
		}
		return nil
	}
	h.onStop = func(sctx context.Context) error { stopCtx = sctx; return nil }
	must(t, service.Start(ctx, h))
	for i := 0; i < 3; i++ {
		r := <-got
		if !errors.Is(r.err, service.ErrBadArgument) || r.w != nil {
			t.Errorf("case %d: Watch = %v, %v; want nil, ErrBadArgument", i, r.w, r.err)
		}
	}
	// "ErrNotStarted when ctx is not the context of a service's task or hook"
	if w, err := service.Watch(ctx, "x", time.Second); !errors.Is(err, service.ErrNotStarted) || w != nil {
		t.Errorf("Watch(plain ctx) = %v, %v; want nil, ErrNotStarted", w, err)
	}
	must(t, h.Stop(ctx))
	// "and ErrStopping once that run is stopping or has crashed"
	if w, err := service.Watch(stopCtx, "x", time.Second); err == nil || w != nil {
		t.Errorf("Watch(ctx of a stopped run) = %v, %v; want an error", w, err)
	}
	var nilW *service.Watchdog
	nilW.Beat()
	nilW.Idle()
	nilW.Stop()
	if n := nilW.Name(); n != "" {
		t.Errorf("nil Watchdog's Name = %q", n)
	}
}

// TestReview19bWatchOnCrashedRun: Watch "returns ... ErrStopping once that
// run is stopping or has crashed".
func TestReview19bWatchOnCrashedRun(t *testing.T) {
	ctx := bg(t)
	taskCtx := make(chan context.Context, 1)
	release := make(chan struct{})
	p := newProbe("p", &recorder{})
	p.onStart = func(_ context.Context, p *probe) error {
		return p.Go("t", func(tctx context.Context) error {
			taskCtx <- tctx
			<-release
			return nil
		})
	}
	must(t, service.Start(ctx, p))
	tctx := <-taskCtx
	p.Crash(errBoom)
	w, err := service.Watch(tctx, "late", time.Second)
	close(release)
	if !errors.Is(err, service.ErrStopping) || w != nil {
		t.Errorf("Watch on a crashed run = %v, %v; want nil, ErrStopping", w, err)
	}
	must(t, p.Stop(ctx))
}

// TestReview19bZeroValues: what the doc says the zero or empty values give.
func TestReview19bZeroValues(t *testing.T) {
	ctx := bg(t)
	// "the zero Config if Configure was never called"
	var o ownerA
	if cfg := o.Config(); cfg != (service.Config{}) {
		t.Errorf("Config of a never-configured service: %+v", cfg)
	}
	// "Abandoned ... A nil s has none."
	if a := service.Abandoned(nil); a != nil {
		t.Errorf("Abandoned(nil) = %v", a)
	}
	// "Tasks ... nil when it has none."
	p := newProbe("p", &recorder{})
	if tasks := p.Tasks(); tasks != nil {
		t.Errorf("Tasks of a never-started service: %#v", tasks)
	}
	startStopped(t, ctx, p)
	if tasks := p.Tasks(); tasks != nil {
		t.Errorf("Tasks of a service without tasks: %#v", tasks)
	}
	// "WaitUntilStopped ... On a service never started it returns nil at once."
	q := newProbe("q", &recorder{})
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := q.WaitUntilStopped(done); err != nil {
		t.Errorf("WaitUntilStopped of a never-started service (ctx ended): %v", err)
	}
	// "The states. The zero value is Init." and String's words.
	var s service.State
	if s != service.Init {
		t.Errorf("zero State is %v", s)
	}
	words := map[service.State]string{
		service.Init: "init", service.Starting: "starting", service.Running: "running",
		service.Stopping: "stopping", service.Shutdown: "shutdown", service.Crashed: "crashed",
	}
	for st, w := range words {
		if st.String() != w {
			t.Errorf("%d.String() = %q, want %q", int(st), st.String(), w)
		}
	}
	// "MaybeStart ... returns false and no error when s is in any other state"
	if ok, err := service.MaybeStart(ctx, p); ok || err != nil {
		t.Errorf("MaybeStart of a running service = %v, %v", ok, err)
	}
	r := newProbe("r", &recorder{})
	must(t, service.Start(ctx, r))
	must(t, r.Stop(ctx))
	if ok, err := service.MaybeStart(ctx, r); ok || err != nil || r.State() != service.Shutdown {
		t.Errorf("MaybeStart of a stopped service = %v, %v (state %v)", ok, err, r.State())
	}
}

// TestReview19bSetShutdownOutsideARun: "SetShutdown ... applies to the
// current run; before start and after stop it does nothing."
func TestReview19bSetShutdownOutsideARun(t *testing.T) {
	ctx := bg(t)
	cfg := service.Config{Name: "w", Logger: &quiet, WaitForShutdown: true, ShutdownTimeout: 20 * time.Millisecond}

	before := newProbe("before", &recorder{})
	before.Configure(cfg)
	before.SetShutdown() // before start: nothing
	must(t, service.Start(ctx, before))
	if err := before.Stop(ctx); !errors.Is(err, service.ErrShutdownTimeout) {
		t.Errorf("SetShutdown before Start carried into the run: Stop = %v, want ErrShutdownTimeout", err)
	}

	after := newProbe("after", &recorder{})
	after.Configure(cfg)
	must(t, service.Start(ctx, after))
	after.SetShutdown()
	must(t, after.Stop(ctx))
	after.SetShutdown() // after stop: nothing
	must(t, after.Restart(ctx))
	if err := after.Stop(ctx); !errors.Is(err, service.ErrShutdownTimeout) {
		t.Errorf("SetShutdown after Stop carried into the next run: Stop = %v, want ErrShutdownTimeout", err)
	}
}

// TestReview19bTimersAfterCrash: Timers' counters "stay readable after a
// crash until the run is stopped; a new run starts with none."
func TestReview19bTimersAfterCrash(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	p.onStart = func(_ context.Context, p *probe) error {
		if p.RestartCount() > 0 {
			return nil
		}
		return p.Every(time.Hour, func(context.Context) error { return nil }, service.Named("tick"))
	}
	must(t, service.Start(ctx, p))
	if ts := p.Timers(); len(ts) != 1 || ts[0].Name != "tick" {
		t.Fatalf("Timers of the run: %+v", ts)
	}
	p.Crash(errBoom)
	if ts := p.Timers(); len(ts) != 1 || ts[0].Name != "tick" {
		t.Errorf("Timers after the crash: %+v", ts)
	}
	must(t, p.Restart(ctx))
	if ts := p.Timers(); len(ts) != 0 {
		t.Errorf("Timers of the new run: %+v", ts)
	}
	must(t, p.Stop(ctx))
}

// TestReview19bTicksYieldsNothing: "A non-positive interval yields nothing
// (and logs an error); so does an iteration begun on a service that is not
// starting or running."
func TestReview19bTicksYieldsNothing(t *testing.T) {
	ctx := bg(t)
	idle := newProbe("idle", &recorder{})
	for range idle.Ticks(time.Millisecond) {
		t.Fatal("Ticks of a never-started service yielded")
	}
	p := newProbe("p", &recorder{})
	startStopped(t, ctx, p)
	for _, d := range []time.Duration{0, -time.Second} {
		n := 0
		_ = noHang(t, func() error {
			for range p.Ticks(d) {
				n++
				break
			}
			return nil
		})
		if n != 0 {
			t.Errorf("Ticks(%v) yielded", d)
		}
	}
	stopped := newProbe("stopped", &recorder{})
	must(t, service.Start(ctx, stopped))
	must(t, stopped.Stop(ctx))
	for range stopped.Ticks(time.Millisecond) {
		t.Fatal("Ticks of a stopped service yielded")
	}
}

// TestReview19bPanicUnwrap: "Unwrap returns the panic value when it is an
// error", so a task panicking with an error is a crash matching both.
func TestReview19bPanicUnwrap(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	gate := make(chan struct{})
	p.onStart = func(_ context.Context, p *probe) error {
		return p.Go("panicky", func(context.Context) error { <-gate; panic(errBoom) })
	}
	must(t, service.Start(ctx, p))
	close(gate)
	_ = p.WaitUntilStopped(ctx)
	r := p.CrashReason()
	var pe *service.PanicError
	if !errors.As(r, &pe) || !errors.Is(r, service.ErrPanic) || !errors.Is(r, errBoom) {
		t.Errorf("crash reason %v: want a *PanicError matching ErrPanic and the panic's error", r)
	}
	if pe != nil && strings.Contains(pe.Error(), "goroutine ") {
		t.Errorf("PanicError.Error carries the stack: %q", pe.Error())
	}
	if pe != nil && len(pe.Stack) == 0 {
		t.Error("PanicError without its stack")
	}
	must(t, p.Stop(ctx))
	// Not an error: Unwrap returns nil.
	if u := (&service.PanicError{Value: "text"}).Unwrap(); u != nil {
		t.Errorf("Unwrap of a string panic = %v", u)
	}
}

// TestReview19bFromSutureLabel: "The ShortLabel is fmt.Sprint(ss) when ss is
// a fmt.Stringer, else "suture"."
func TestReview19bFromSutureLabel(t *testing.T) {
	if got := service.FromSuture(r19bStringer{}).ShortLabel(); got != "named-suture" {
		t.Errorf("Stringer: ShortLabel %q", got)
	}
	if got := service.FromSuture(r19bPlain{}).ShortLabel(); got != "suture" {
		t.Errorf("plain: ShortLabel %q", got)
	}
}

// TestReview19bToSutureServeResults: Serve "returns ctx.Err() when ctx
// ended, the crash reason when s crashed, and nil when s exited normally".
func TestReview19bToSutureServeResults(t *testing.T) {
	t.Run("ctx ended", func(t *testing.T) {
		f := hushed(service.Func("f", blockTask))
		ctx, cancel := context.WithCancel(bg(t))
		errc := make(chan error, 1)
		go func() { errc <- service.ToSuture(f).Serve(ctx) }()
		awaitRunning(t, f)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve = %v, want context.Canceled", err)
		}
		if f.State() != service.Shutdown {
			t.Errorf("state %v after Serve", f.State())
		}
	})
	t.Run("crashed", func(t *testing.T) {
		f := hushed(service.Func("f", func(context.Context) error { return errBoom }))
		if err := service.ToSuture(f).Serve(bg(t)); !errors.Is(err, errBoom) {
			t.Errorf("Serve = %v, want the crash reason", err)
		}
		if f.State() != service.Shutdown {
			t.Errorf("state %v after Serve", f.State())
		}
	})
	t.Run("normal exit", func(t *testing.T) {
		f := hushed(service.Func("f", func(context.Context) error { return nil }))
		if err := service.ToSuture(f).Serve(bg(t)); err != nil {
			t.Errorf("Serve = %v, want nil", err)
		}
	})
}

// TestReview19bRestartOnRestartFails: Restart returns "the error of
// OnRestart (the service is then left stopped, in Shutdown)".
func TestReview19bRestartOnRestartFails(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p := newProbe("p", rec)
	must(t, service.Start(ctx, p))
	p.fail["OnRestart"] = errBoom
	rec.take()
	err := p.Restart(ctx)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Restart = %v, want OnRestart's error", err)
	}
	if p.State() != service.Shutdown {
		t.Errorf("state %v after a failed OnRestart, want shutdown", p.State())
	}
	wantEvents(t, rec.take(), "p.OnStop p.OnShutdown p.OnRestart")
	// From Shutdown a Restart runs again, skipping the stop step.
	delete(p.fail, "OnRestart")
	must(t, p.Restart(ctx))
	wantEvents(t, rec.take(), "p.OnRestart p.OnStart p.OnStarted")
	must(t, p.Stop(ctx))
}

// TestReview19bStopDuringOnRestart: "A Stop arriving during the Restart
// (from inside too, OnRestart included) stops it before its start ...:
// Restart then returns ErrStopped."
func TestReview19bStopDuringOnRestart(t *testing.T) {
	for _, inside := range []bool{false, true} {
		t.Run(fmt.Sprintf("inside=%v", inside), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := bg(t)
				rec := &recorder{}
				h := &r19bRestarter{probe: newProbe("p", rec), stopped: make(chan error, 1), in: make(chan struct{}), goOn: make(chan struct{})}
				h.inside = inside
				must(t, service.Start(ctx, h))
				rec.take()
				errc := make(chan error, 1)
				go func() { errc <- h.Restart(ctx) }()
				if !inside {
					<-h.in
					go func() { h.stopped <- h.Stop(ctx) }()
					// Let OnRestart return once the Stop waits for the
					// restart: every goroutine of the bubble is blocked.
					synctest.Wait()
					close(h.goOn)
				}
				err := <-errc
				if !errors.Is(err, service.ErrStopped) {
					t.Errorf("Restart = %v, want ErrStopped", err)
				}
				if serr := <-h.stopped; serr != nil {
					t.Errorf("Stop = %v", serr)
				}
				if h.State() != service.Shutdown && h.State() != service.Init {
					t.Errorf("state %v", h.State())
				}
				for _, e := range rec.take() {
					if e == "p.OnStart" {
						t.Errorf("the start ran after a Stop during OnRestart")
					}
				}
			})
		})
	}
}

// r19bRestarter's OnRestart stops the service itself (inside) or waits for
// the test to stop it from outside.
type r19bRestarter struct {
	*probe
	inside  bool
	stopped chan error
	in      chan struct{}
	goOn    chan struct{}
}

func (r *r19bRestarter) OnRestart(ctx context.Context) error {
	_ = r.probe.OnRestart(ctx)
	if r.inside {
		r.stopped <- r.Stop(ctx)
		return nil
	}
	close(r.in)
	<-r.goOn
	return nil
}

// TestReview19bStopNeverReturnsCrashReason: Stop "never [returns] the crash
// reason"; WaitUntilStopped does.
func TestReview19bStopNeverReturnsCrashReason(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	must(t, service.Start(ctx, p))
	p.Crash(errBoom)
	if err := p.Stop(ctx); err != nil {
		t.Errorf("Stop of a crashed service = %v, want nil", err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
	if err := p.WaitUntilStopped(ctx); !errors.Is(err, errBoom) {
		t.Errorf("WaitUntilStopped = %v, want the crash reason", err)
	}
}

// TestReview19bDeferPanicJoined: "Errors and panics from fn are joined into
// Stop's error", in LIFO order, all of them run.
func TestReview19bDeferPanicJoined(t *testing.T) {
	ctx := bg(t)
	var order []string
	p := newProbe("p", &recorder{})
	p.onStart = func(_ context.Context, p *probe) error {
		must(t, p.Defer(func() error { order = append(order, "first"); return errBoom }))
		must(t, p.Defer(func() error { order = append(order, "second"); panic("deferred kaboom") }))
		return nil
	}
	must(t, service.Start(ctx, p))
	err := p.Stop(ctx)
	if !errors.Is(err, errBoom) || !errors.Is(err, service.ErrPanic) {
		t.Errorf("Stop = %v, want the error and the panic joined", err)
	}
	if strings.Join(order, " ") != "second first" {
		t.Errorf("exit stack ran %v, want LIFO", order)
	}
	if p.State() != service.Shutdown {
		t.Errorf("state %v", p.State())
	}
}

// TestReview19bSleepCtxEnds: Sleep returns "ctx.Err() when ctx ends first".
func TestReview19bSleepCtxEnds(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	startStopped(t, ctx, p)
	short, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Sleep(short, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep with an ended ctx = %v, want context.Canceled", err)
	}
	if err := p.Sleep(ctx, 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
}

// TestReview19bCheckHealthEndedCtx: "the hook is not called when ctx has
// ended already", and the error wraps ctx's.
func TestReview19bCheckHealthEndedCtx(t *testing.T) {
	ctx := bg(t)
	h := &r19bHealth{}
	h.Configure(service.Config{Logger: &quiet})
	startStopped(t, ctx, h)
	ended, cancel := context.WithCancel(ctx)
	cancel()
	err := service.CheckHealth(ended, h)
	if !errors.Is(err, service.ErrUnhealthy) || !errors.Is(err, context.Canceled) {
		t.Errorf("CheckHealth(ended ctx) = %v", err)
	}
	if h.calls != 0 {
		t.Errorf("hook called %d times with an ended ctx", h.calls)
	}
	if err := service.CheckHealth(ctx, nil); !errors.Is(err, service.ErrNilService) {
		t.Errorf("CheckHealth(nil) = %v", err)
	}
}

// TestReview19bChildRestartUnderStoppingParent: "The child of a service
// that is stopping or has stopped is not started again behind its parent's
// back: Restart stops it if it runs and returns ErrStopping."
func TestReview19bChildRestartUnderStoppingParent(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	parent := newHookSvc("parent")
	child := newProbe("c", rec)
	must(t, parent.AddDependency(child))
	restartErr := make(chan error, 1)
	parent.onStop = func(context.Context) error {
		// The parent is stopping; its children have not stopped yet.
		restartErr <- child.Restart(ctx)
		return nil
	}
	must(t, service.Start(ctx, parent))
	rec.take()
	must(t, parent.Stop(ctx))
	if err := <-restartErr; !errors.Is(err, service.ErrStopping) {
		t.Errorf("child Restart during the parent's stop = %v, want ErrStopping", err)
	}
	if child.State() != service.Shutdown {
		t.Errorf("child state %v", child.State())
	}
	for _, e := range rec.take() {
		if e == "c.OnStart" || e == "c.OnRestart" {
			t.Errorf("child restarted behind its stopping parent: %s", e)
		}
	}
	// Stopped parent: the same.
	if err := child.Restart(ctx); !errors.Is(err, service.ErrStopping) {
		t.Errorf("child Restart after the parent's stop = %v, want ErrStopping", err)
	}
	if child.State() != service.Shutdown {
		t.Errorf("child state %v", child.State())
	}
}
