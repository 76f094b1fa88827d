package service_test

// Review 29: a Restart that finds a Stop in progress (the Stop wins),
// error texts of abandoned user code, CheckHealth's grace.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
)

// r29 is a service whose hooks are set per test.
type r29 struct {
	service.Base
	onStart, onStarted, onStop, onShutdown, onRestart, health func(ctx context.Context) error
}

func call29(f func(context.Context) error, ctx context.Context) error {
	if f != nil {
		return f(ctx)
	}
	return nil
}

func (s *r29) OnStart(ctx context.Context) error     { return call29(s.onStart, ctx) }
func (s *r29) OnStarted(ctx context.Context) error   { return call29(s.onStarted, ctx) }
func (s *r29) OnStop(ctx context.Context) error      { return call29(s.onStop, ctx) }
func (s *r29) OnShutdown(ctx context.Context) error  { return call29(s.onShutdown, ctx) }
func (s *r29) OnRestart(ctx context.Context) error   { return call29(s.onRestart, ctx) }
func (s *r29) Healthcheck(ctx context.Context) error { return call29(s.health, ctx) }

func newR29(name string, budget time.Duration) *r29 {
	s := &r29{}
	s.Configure(service.Config{Name: name, Logger: &quiet, StopTimeout: budget})
	return s
}

// blockOnStop makes s's OnStop signal in and wait for release.
func blockOnStop(s *r29) (in, release chan struct{}) {
	in, release = make(chan struct{}), make(chan struct{})
	s.onStop = func(context.Context) error { close(in); <-release; return nil }
	return in, release
}

// TestReview29RestartDuringStop: a Restart (one or two) asked while a
// Stop is in progress waits for it and returns ErrStopped (or, a child's,
// ErrStopping naming its stopping parent); the service stays in Shutdown;
// a Restart asked once the Stop has returned starts it again.
func TestReview29RestartDuringStop(t *testing.T) {
	for _, tc := range []struct {
		name     string
		restarts int
		child    bool // the stopped service is a plain Base child whose parent is stopped
	}{
		{"root", 1, false},
		{"root-two-restarts", 2, false},
		{"child-of-stopping-parent", 1, true},
		{"child-two-restarts", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newR29("s", time.Minute)
				in, release := blockOnStop(s)
				root := service.Service(s)
				if tc.child {
					p := newR29("p", time.Minute)
					if err := p.AddDependency(s); err != nil {
						t.Fatal(err)
					}
					root = p
				}
				ctx := context.Background()
				if err := service.Start(ctx, root); err != nil {
					t.Fatal(err)
				}
				stopped := make(chan error, 1)
				go func() { stopped <- root.Stop(ctx) }()
				<-in
				errs := make(chan error, tc.restarts)
				for range tc.restarts {
					go func() { errs <- s.Restart(ctx) }()
				}
				synctest.Wait() // the Restarts wait for the Stop
				close(release)
				if err := <-stopped; err != nil {
					t.Fatalf("Stop: %v", err)
				}
				for range tc.restarts {
					err := <-errs
					if !errors.Is(err, service.ErrStopped) && !(tc.child && errors.Is(err, service.ErrStopping)) {
						t.Errorf("Restart during the Stop: %v, want ErrStopped", err)
					}
					if c := strings.Count(err.Error(), "restart"); c > 1 {
						t.Errorf("%q says restart %d times", err, c)
					}
				}
				synctest.Wait()
				if st := s.State(); st != service.Shutdown {
					t.Fatalf("state after the Stop won: %s, want Shutdown", st)
				}
				if s.RestartCount() != 0 {
					t.Errorf("RestartCount %d: a refused Restart counted", s.RestartCount())
				}
				if tc.child {
					return // its parent starts it
				}
				// Sequential: Restart from Shutdown starts it again.
				s.onStop = nil
				if err := s.Restart(ctx); err != nil {
					t.Fatalf("Restart after the Stop: %v", err)
				}
				if st := s.State(); st != service.Running || s.RestartCount() != 1 {
					t.Fatalf("after Restart: %s, RestartCount %d", st, s.RestartCount())
				}
				_ = s.Stop(ctx)
			})
		})
	}
}

// TestReview29RestartStopRestart: Restart, then Stop, then Restart, in
// sequence: each Restart starts the service.
func TestReview29RestartStopRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newR29("s", time.Second)
		if err := service.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 3; i++ {
			if err := s.Restart(ctx); err != nil {
				t.Fatalf("Restart %d: %v", i, err)
			}
			if s.State() != service.Running || s.RestartCount() != i {
				t.Fatalf("Restart %d: %s, count %d", i, s.State(), s.RestartCount())
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestReview29RestartInsideDuringStop: a Restart from the service's own
// hook (OnStop, OnShutdown) or task while it stops returns at once with
// an error and starts nothing.
func TestReview29RestartInsideDuringStop(t *testing.T) {
	for _, where := range []string{"OnStop", "OnShutdown", "task"} {
		t.Run(where, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				s := newR29("s", time.Second)
				got := make(chan error, 1)
				hook := func(hctx context.Context) error { got <- s.Restart(hctx); return nil }
				switch where {
				case "OnStop":
					s.onStop = hook
				case "OnShutdown":
					s.onShutdown = hook
				case "task":
					s.onStart = func(context.Context) error {
						return s.Go("t", func(tctx context.Context) error {
							<-tctx.Done()
							got <- s.Restart(tctx)
							return nil
						})
					}
				}
				if err := service.Start(ctx, s); err != nil {
					t.Fatal(err)
				}
				if err := s.Stop(ctx); err != nil {
					t.Fatalf("Stop: %v", err)
				}
				err := <-got
				if err == nil {
					t.Errorf("Restart from %s during the Stop returned nil", where)
				}
				synctest.Wait()
				if st := s.State(); st != service.Shutdown || s.RestartCount() != 0 {
					t.Errorf("after the Stop: %s, RestartCount %d (Restart from %s: %v)", st, s.RestartCount(), where, err)
				}
			})
		})
	}
}

// TestReview29FuncExitRacesRestart: a root Func returning nil stops
// itself (its exit stack blocks that stop); a Restart asked meanwhile
// returns ErrStopped and the Func stays down; one asked afterwards runs it
// again.
func TestReview29FuncExitRacesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		inExit, release := make(chan struct{}), make(chan struct{})
		var f *service.FuncService
		var runs int
		f = service.Func("f", func(context.Context) error {
			runs++
			if runs == 1 {
				_ = f.Defer(func() error { close(inExit); <-release; return nil })
			}
			return nil
		})
		f.Configure(service.Config{Name: "f", Logger: &quiet, StopTimeout: time.Minute})
		if err := service.Start(ctx, f); err != nil {
			t.Fatal(err)
		}
		<-inExit
		got := make(chan error, 1)
		go func() { got <- f.Restart(ctx) }()
		synctest.Wait()
		close(release)
		if err := <-got; !errors.Is(err, service.ErrStopped) {
			t.Errorf("Restart during the Func's exit: %v, want ErrStopped", err)
		}
		synctest.Wait()
		if f.State() != service.Shutdown || runs != 1 {
			t.Fatalf("after its exit: %s, %d runs", f.State(), runs)
		}
		if err := f.Restart(ctx); err != nil {
			t.Fatalf("Restart after the exit: %v", err)
		}
		synctest.Wait()
		if runs != 2 {
			t.Errorf("%d runs after the Restart, want 2", runs)
		}
		_ = f.Stop(ctx)
	})
}

// TestReview29StopDuringRestartThenRestart: a Stop arriving during a
// Restart's OnRestart wins (ErrStopped); a Restart after both starts it.
func TestReview29StopDuringRestartThenRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newR29("s", time.Minute)
		in, release := make(chan struct{}), make(chan struct{})
		s.onRestart = func(context.Context) error { close(in); <-release; return nil }
		if err := service.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		rerr, serr := make(chan error, 1), make(chan error, 1)
		go func() { rerr <- s.Restart(ctx) }()
		<-in
		go func() { serr <- s.Stop(ctx) }()
		synctest.Wait()
		close(release)
		if err := <-rerr; !errors.Is(err, service.ErrStopped) {
			t.Errorf("Restart: %v, want ErrStopped", err)
		}
		if err := <-serr; err != nil {
			t.Errorf("Stop: %v", err)
		}
		if s.State() != service.Shutdown {
			t.Fatalf("state %s", s.State())
		}
		s.onRestart = nil
		if err := s.Restart(ctx); err != nil || s.State() != service.Running {
			t.Fatalf("Restart after: %v, %s", err, s.State())
		}
		_ = s.Stop(ctx)
	})
}

// hang29 is user code that ignores its ctx until release is closed.
func hang29(release <-chan struct{}) func(context.Context) error {
	return func(context.Context) error { <-release; return nil }
}

// TestReview29AbandonedTexts: user code a Stop, a Start or a Restart
// gives up on is named once (its step once, its service once besides the
// opening label), and errors.Is(ErrStopTimeout) holds through every wrap.
func TestReview29AbandonedTexts(t *testing.T) {
	type op int
	const (
		opStop op = iota
		opStart
		opRestart
	)
	for _, tc := range []struct {
		name string
		step string // as the text names it
		op   op
		set  func(s *r29, release <-chan struct{})
	}{
		{"OnStop", "OnStop", opStop, func(s *r29, r <-chan struct{}) { s.onStop = hang29(r) }},
		{"OnShutdown", "OnShutdown", opStop, func(s *r29, r <-chan struct{}) { s.onShutdown = hang29(r) }},
		{"exit-stack", "exit stack", opStop, func(s *r29, r <-chan struct{}) {
			s.onStart = func(context.Context) error { return s.Defer(func() error { <-r; return nil }) }
		}},
		{"closer", "exit stack", opStop, func(s *r29, r <-chan struct{}) {
			s.onStart = func(context.Context) error { return s.AddCloser(closer29(r)) }
		}},
		{"task", "task \"t\"", opStop, func(s *r29, r <-chan struct{}) {
			s.onStart = func(context.Context) error {
				return s.Go("t", func(context.Context) error { <-r; return nil })
			}
		}},
		{"restart-OnStop", "OnStop", opRestart, func(s *r29, r <-chan struct{}) { s.onStop = hang29(r) }},
		{"OnRestart", "OnRestart", opRestart, func(s *r29, r <-chan struct{}) { s.onRestart = hang29(r) }},
		{"OnStart", "OnStart", opStart, func(s *r29, r <-chan struct{}) { s.onStart = hang29(r) }},
		{"OnStarted", "OnStarted", opStart, func(s *r29, r <-chan struct{}) { s.onStarted = hang29(r) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer func() { close(release); synctest.Wait() }()
				s := newR29("svc29", time.Second)
				tc.set(s, release)
				ctx := context.Background()
				var err error
				switch tc.op {
				case opStart:
					sctx, cancel := context.WithTimeout(ctx, time.Second)
					err = service.Start(sctx, s)
					cancel()
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Start: %v, want the start ctx's end", err)
					}
				default:
					if err := service.Start(ctx, s); err != nil {
						t.Fatal(err)
					}
					if tc.op == opStop {
						err = s.Stop(ctx)
					} else {
						err = s.Restart(ctx)
					}
				}
				t.Logf("%s: %v", tc.name, err)
				if !errors.Is(err, service.ErrStopTimeout) {
					t.Fatalf("%v: not ErrStopTimeout", err)
				}
				text := err.Error()
				if c := strings.Count(text, tc.step); c != 1 {
					t.Errorf("%q names %q %d times", text, tc.step, c)
				}
				if c := strings.Count(text, "did not return"); c > 1 {
					t.Errorf("%q says \"did not return\" %d times", text, c)
				}
				// Its label opens the text; the abandoned code is named by
				// its path ("svc29: OnStop"): twice at most.
				if c := strings.Count(text, "svc29"); c > 2 {
					t.Errorf("%q names the service %d times", text, c)
				}
			})
		})
	}
}

type closer29 <-chan struct{}

func (c closer29) Close() error { <-c; return nil }

// TestReview29CheckHealthGrace: CheckHealth waits abandonGrace (20ms)
// after its ctx ends. A Healthcheck returning within it is not abandoned
// (its error, or a panic's, is the result); one returning just after it
// is abandoned (ctx's error) and Stop, whose own grace sees it return, is
// clean; one that never returns is named by Stop.
func TestReview29CheckHealthGrace(t *testing.T) {
	const grace = 20 * time.Millisecond
	for _, tc := range []struct {
		name      string
		after     time.Duration // how long after ctx's end the hook returns; <0: never (until the end)
		panics    bool
		abandoned bool
		stopNames bool
	}{
		{"honours-ctx", 0, false, false, false},
		{"within-grace", grace - time.Millisecond, false, false, false},
		{"panics-within-grace", grace / 2, true, false, false},
		{"just-after-grace", grace + time.Millisecond, false, true, false},
		{"never", -1, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer func() { close(release); synctest.Wait() }()
				s := newR29("h29", time.Second)
				hookErr := errors.New("sick")
				s.health = func(hctx context.Context) error {
					<-hctx.Done()
					if tc.after < 0 {
						<-release
						return nil
					}
					time.Sleep(tc.after) // fake time in the bubble
					if tc.panics {
						panic("hc")
					}
					return hookErr
				}
				ctx := context.Background()
				if err := service.Start(ctx, s); err != nil {
					t.Fatal(err)
				}
				cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
				err := service.CheckHealth(cctx, s)
				cancel()
				if !errors.Is(err, service.ErrUnhealthy) {
					t.Errorf("CheckHealth: %v, want ErrUnhealthy", err)
				}
				var pe *service.PanicError
				switch {
				case tc.abandoned:
					if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, hookErr) {
						t.Errorf("CheckHealth: %v, want ctx's end (abandoned)", err)
					}
				case tc.panics:
					if !errors.As(err, &pe) {
						t.Errorf("CheckHealth: %v, want a *PanicError", err)
					}
				default:
					if !errors.Is(err, hookErr) {
						t.Errorf("CheckHealth: %v, want the hook's error (returned within the grace)", err)
					}
				}
				serr := s.Stop(ctx)
				if tc.stopNames {
					if !errors.Is(serr, service.ErrStopTimeout) || !strings.Contains(serr.Error(), "Healthcheck") {
						t.Errorf("Stop: %v, want the abandoned Healthcheck named", serr)
					} else if c := strings.Count(serr.Error(), s.Label()); c != 1 || !strings.HasPrefix(serr.Error(), s.Label()+": stop: ") {
						t.Errorf("%q: want it opened by %q, once", serr, s.Label()+": stop: ")
					}
				} else if serr != nil {
					t.Errorf("Stop: %v (the Healthcheck returned)", serr)
				}
			})
		})
	}
}

// TestReview29MonitoringPanic: a panicking Healthcheck under
// MonitoringInterval crashes the service with ErrUnhealthy wrapping a
// *PanicError; Restart runs it again.
func TestReview29MonitoringPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &r29{}
		s.Configure(service.Config{Name: "m29", Logger: &quiet, StopTimeout: time.Second, MonitoringInterval: time.Second})
		var n atomic.Int32
		s.health = func(context.Context) error {
			if n.Add(1) == 1 {
				panic("hc")
			}
			return nil
		}
		ctx := context.Background()
		if err := service.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		<-s.Done()
		reason := s.CrashReason()
		var pe *service.PanicError
		if !errors.Is(reason, service.ErrUnhealthy) || !errors.As(reason, &pe) {
			t.Fatalf("crash reason %v, want ErrUnhealthy wrapping a *PanicError", reason)
		}
		if err := s.Restart(ctx); err != nil {
			t.Fatalf("Restart: %v", err)
		}
		time.Sleep(3 * time.Second)
		if s.State() != service.Running || n.Load() < 3 {
			t.Errorf("after Restart: %s, %d checks", s.State(), n.Load())
		}
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
}

// TestReview29RestartTextOpens: a Restart failing in OnRestart (its own
// or a child's, returning an error or abandoned) opens its error with the
// label of the service whose Restart was called and says OnRestart once
// (package doc, "Error texts").
func TestReview29RestartTextOpens(t *testing.T) {
	for _, tc := range []struct {
		name      string
		nested    bool
		abandoned bool
	}{
		{"own-error", false, false},
		{"own-abandoned", false, true},
		{"child-error", true, false},
		{"child-abandoned", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer func() { close(release); synctest.Wait() }()
				p := newR29("p29", time.Second)
				hooked := p
				if tc.nested {
					hooked = newR29("k29", time.Second)
					if err := p.AddDependency(hooked); err != nil {
						t.Fatal(err)
					}
				}
				boom := errors.New("boom")
				hooked.onRestart = func(context.Context) error { return boom }
				if tc.abandoned {
					hooked.onRestart = hang29(release)
				}
				ctx := context.Background()
				if err := service.Start(ctx, p); err != nil {
					t.Fatal(err)
				}
				err := p.Restart(ctx)
				t.Logf("%v", err)
				if tc.abandoned && !errors.Is(err, service.ErrStopTimeout) || !tc.abandoned && !errors.Is(err, boom) {
					t.Fatalf("Restart: %v", err)
				}
				text := err.Error()
				if !strings.HasPrefix(text, p.Label()+": ") {
					t.Errorf("%q does not open with %q", text, p.Label())
				}
				if c := strings.Count(text, "OnRestart"); c != 1 {
					t.Errorf("%q says OnRestart %d times", text, c)
				}
				if c := strings.Count(text, "k29"); tc.nested && c == 0 {
					t.Errorf("%q does not name the child", text)
				}
				if p.State() != service.Shutdown {
					t.Errorf("state %s, want Shutdown", p.State())
				}
			})
		})
	}
}

// TestReview29RestartDown: service.Restarting's down (Base.flags'
// restartDown) says the last transition ended was a Restart that left the
// service down, not one a Stop aborted, and is not stale: a later Stop,
// Start or Restart that succeeds clears it; a stop half whose error
// wraps ErrStopped (an OnStop returning its run's cause) is no abort.
func TestReview29RestartDown(t *testing.T) {
	down := func(s service.Service) bool {
		_, _, _, _, _, d := service.Restarting(seam.Token{}, s)
		return d
	}
	boom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		onStop func(ctx context.Context) error
		fail   string // "OnRestart" or "OnStart"
	}{
		{"OnRestart", nil, "OnRestart"},
		{"OnStart", nil, "OnStart"},
		{"OnRestart-stop-half-ErrStopped", func(ctx context.Context) error {
			return fmt.Errorf("flush: %w", service.ErrStopped)
		}, "OnRestart"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				s := newR29("d29", time.Second)
				s.onStop = tc.onStop
				if err := service.Start(ctx, s); err != nil {
					t.Fatal(err)
				}
				if down(s) {
					t.Fatal("down after Start")
				}
				switch tc.fail {
				case "OnRestart":
					s.onRestart = func(context.Context) error { return boom }
				case "OnStart":
					s.onStart = func(context.Context) error { return boom }
				}
				if err := s.Restart(ctx); !errors.Is(err, boom) {
					t.Fatalf("Restart: %v", err)
				}
				if !down(s) {
					t.Errorf("not down after a failed Restart (state %s)", s.State())
				}
				s.onRestart, s.onStart, s.onStop = nil, nil, nil
				if s.State() == service.Init {
					if err := service.Start(ctx, s); err != nil {
						t.Fatal(err)
					}
				} else if err := s.Restart(ctx); err != nil {
					t.Fatal(err)
				}
				if down(s) {
					t.Errorf("down (stale) after a successful start, state %s", s.State())
				}
				_ = s.Stop(ctx)
				if down(s) {
					t.Errorf("down (stale) after a Stop")
				}
			})
		})
	}
}

// TestReview29RestartAbortedNotDown: a Stop aborting a Restart, during
// its stop half, its OnRestart or its start (OnStart), leaves it down by
// the Stop: Restarting's down is false.
func TestReview29RestartAbortedNotDown(t *testing.T) {
	for _, phase := range []string{"OnStop", "OnRestart", "OnStart"} {
		t.Run(phase, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				s := newR29("a29", time.Minute)
				if err := service.Start(ctx, s); err != nil {
					t.Fatal(err)
				}
				in, release := make(chan struct{}), make(chan struct{})
				hook := func(context.Context) error { close(in); <-release; return nil }
				switch phase {
				case "OnStop":
					s.onStop = hook
				case "OnRestart":
					s.onRestart = hook
				case "OnStart":
					s.onStart = hook
				}
				rerr, serr := make(chan error, 1), make(chan error, 1)
				go func() { rerr <- s.Restart(ctx) }()
				<-in
				go func() { serr <- s.Stop(ctx) }()
				synctest.Wait()
				close(release)
				if err := <-rerr; !errors.Is(err, service.ErrStopped) {
					t.Errorf("Restart: %v, want ErrStopped", err)
				}
				<-serr
				if _, _, _, _, _, down := service.Restarting(seam.Token{}, s); down {
					t.Errorf("down after a Stop aborted the Restart (state %s)", s.State())
				}
				if st := s.State(); st == service.Running || st == service.Starting {
					t.Errorf("state %s after the Stop", st)
				}
			})
		})
	}
}

// TestReview29FuncExitRestartRace: a root Func returning nil races a
// Restart, with nothing to hold its stop. Either the Restart comes after
// the exit's stop (nil: a new run) or meets it (ErrStopped: it stays
// down); never a nil Restart with the Func down, nor ErrStopped with it
// running.
func TestReview29FuncExitRestartRace(t *testing.T) {
	ctx := context.Background()
	var restarted, refused int
	for i := range 200 {
		exit := make(chan struct{})
		var runs atomic.Int32
		f := service.Func("race29", func(fctx context.Context) error {
			if runs.Add(1) == 1 {
				<-exit
				return nil
			}
			<-fctx.Done()
			return nil
		})
		f.Configure(service.Config{Logger: &quiet, StopTimeout: 10 * time.Second})
		if err := service.Start(ctx, f); err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() { got <- f.Restart(ctx) }()
		close(exit)
		err := <-got
		switch {
		case err == nil:
			restarted++
			// The first run's exit must not stop the second run.
			if st := f.State(); st != service.Running {
				t.Fatalf("round %d: Restart nil, state %s", i, st)
			}
		case errors.Is(err, service.ErrStopped):
			refused++
			if err := f.WaitUntilStopped(ctx); err != nil {
				t.Logf("round %d: WaitUntilStopped: %v", i, err)
			}
			if st := f.State(); st == service.Running || st == service.Starting {
				t.Fatalf("round %d: Restart %v, state %s", i, err, st)
			}
		default:
			t.Fatalf("round %d: Restart: %v", i, err)
		}
		if err := f.Stop(ctx); err != nil {
			t.Fatalf("round %d: Stop: %v", i, err)
		}
		if n := runs.Load(); n > 2 {
			t.Fatalf("round %d: %d runs", i, n)
		}
	}
	t.Logf("restarted %d, refused %d", restarted, refused)
}

// TestReview29NestedAbandonedTexts: a child's abandoned hook in its
// parent's Start (the start ctx ending), Stop or Restart: the parent's
// label opens the text, the hook is named once, the child at most twice
// (its label and the path of its code), ErrStopTimeout (and the start
// ctx's end) reachable.
func TestReview29NestedAbandonedTexts(t *testing.T) {
	for _, h := range []string{"OnStart", "OnStarted", "OnStop", "OnShutdown", "OnRestart"} {
		t.Run(h, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				defer func() { close(release); synctest.Wait() }()
				p := newR29("pp29", time.Second)
				k1, k2 := newR29("ka29", time.Second), newR29("kb29", time.Second)
				for _, k := range []*r29{k1, k2} {
					if err := p.AddDependency(k); err != nil {
						t.Fatal(err)
					}
				}
				ctx := context.Background()
				switch h {
				case "OnStart":
					k2.onStart = hang29(release)
				case "OnStarted":
					k2.onStarted = hang29(release)
				case "OnStop":
					k2.onStop = hang29(release)
				case "OnShutdown":
					k2.onShutdown = hang29(release)
				case "OnRestart":
					k2.onRestart = hang29(release)
				}
				sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				defer cancel()
				err := service.Start(sctx, p)
				switch h {
				case "OnStart", "OnStarted":
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Start: %v, want the start ctx's end", err)
					}
				case "OnRestart":
					if err != nil {
						t.Fatal(err)
					}
					err = p.Restart(ctx)
				default:
					if err != nil {
						t.Fatal(err)
					}
					err = p.Stop(ctx)
				}
				t.Logf("%v", err)
				if !errors.Is(err, service.ErrStopTimeout) {
					t.Fatalf("%v: not ErrStopTimeout", err)
				}
				text := err.Error()
				if !strings.HasPrefix(text, p.Label()+": ") {
					t.Errorf("%q does not open with %q", text, p.Label())
				}
				if c := strings.Count(text, h); c != 1 {
					t.Errorf("%q names %s %d times", text, h, c)
				}
				if c := strings.Count(text, "kb29"); c == 0 || c > 2 {
					t.Errorf("%q names the child %d times", text, c)
				}
				if c := strings.Count(text, "pp29"); c > 2 {
					t.Errorf("%q names the parent %d times", text, c)
				}
			})
		})
	}
}

// TestReview29MonitoringHang: a Healthcheck under monitoring that ignores
// its ctx is abandoned with the monitor task by Stop: ErrStopTimeout, the
// task named once; a CheckHealth meanwhile is bounded by its ctx, and
// the Healthcheck it abandoned is named in the same error, under the
// stop's label (it was joined after it, naming the service again).
func TestReview29MonitoringHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer func() { close(release); synctest.Wait() }()
		s := &r29{}
		s.Configure(service.Config{Name: "mh29", Logger: &quiet, StopTimeout: time.Second, MonitoringInterval: time.Second})
		in := make(chan struct{}, 1)
		s.health = func(context.Context) error {
			select {
			case in <- struct{}{}:
			default:
			}
			<-release
			return nil
		}
		ctx := context.Background()
		if err := service.Start(ctx, s); err != nil {
			t.Fatal(err)
		}
		<-in // the monitor's check hangs
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		herr := service.CheckHealth(cctx, s)
		cancel()
		if !errors.Is(herr, service.ErrUnhealthy) || !errors.Is(herr, context.DeadlineExceeded) {
			t.Errorf("CheckHealth: %v", herr)
		}
		err := s.Stop(ctx)
		t.Logf("Stop: %v", err)
		if !errors.Is(err, service.ErrStopTimeout) {
			t.Fatalf("Stop: %v, want ErrStopTimeout", err)
		}
		if c := strings.Count(err.Error(), "monitor: healthcheck"); c != 1 {
			t.Errorf("%q names the monitor task %d times", err, c)
		}
		// The Healthcheck CheckHealth abandoned is in the same error, the
		// label opening it once.
		if c := strings.Count(err.Error(), s.Label()); c != 1 || !strings.Contains(err.Error(), "Healthcheck (CheckHealth)") {
			t.Errorf("%q: label %d times, want once, and the abandoned Healthcheck named", err, c)
		}
	})
}

// TestReview29ParentRestartFromChildHookDuringStop: a child's OnStop (or
// task) calling its parent's Restart while the parent's Stop stops it is
// inside the parent: it returns at once with an error (no deadlock until
// the budget), and nothing starts again.
func TestReview29ParentRestartFromChildHookDuringStop(t *testing.T) {
	for _, where := range []string{"OnStop", "task"} {
		t.Run(where, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				p, k := newR29("p", time.Minute), newR29("k", time.Minute)
				if err := p.AddDependency(k); err != nil {
					t.Fatal(err)
				}
				got := make(chan error, 1)
				if where == "OnStop" {
					k.onStop = func(hctx context.Context) error { got <- p.Restart(hctx); return nil }
				} else {
					k.onStart = func(context.Context) error {
						return k.Go("t", func(tctx context.Context) error {
							<-tctx.Done()
							got <- p.Restart(tctx)
							return nil
						})
					}
				}
				if err := service.Start(ctx, p); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				if err := p.Stop(ctx); err != nil {
					t.Errorf("Stop: %v", err)
				}
				if d := time.Since(start); d >= time.Minute {
					t.Errorf("Stop took %v: the Restart waited for it", d)
				}
				if err := <-got; err == nil {
					t.Errorf("parent's Restart from the child's %s during the Stop: nil", where)
				}
				synctest.Wait()
				if p.State() != service.Shutdown || k.State() != service.Shutdown || p.RestartCount() != 0 {
					t.Errorf("after: p %s, k %s, p restarts %d", p.State(), k.State(), p.RestartCount())
				}
			})
		})
	}
}
