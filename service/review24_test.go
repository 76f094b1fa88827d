package service_test

// Review 24: a hostile review of timers (Every, FixedDelay), Ticks and Cron:
// callbacks that hang, panic or fail, re-entrant calls from inside them,
// timers around failed starts and stops, clock edge cases. Most tests run
// in a testing/synctest bubble (the real clock, faked), where time.Sleep
// only moves the bubble's clock and synctest.Wait is the synchronisation.

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// r24 is a service whose hooks are given by the test.
type r24 struct {
	service.Base
	onStart func(ctx context.Context, s *r24) error
	onStop  func(ctx context.Context, s *r24) error
}

func (s *r24) OnStart(ctx context.Context) error {
	if s.onStart != nil {
		return s.onStart(ctx, s)
	}
	return nil
}

func (s *r24) OnStop(ctx context.Context) error {
	if s.onStop != nil {
		return s.onStop(ctx, s)
	}
	return nil
}

func newR24(name string, budget time.Duration, onStart func(context.Context, *r24) error) *r24 {
	s := &r24{onStart: onStart}
	s.Configure(service.Config{Name: name, Logger: &quiet, StopTimeout: budget})
	return s
}

// timerKind registers a timer of one kind, named "t", calling fn.
type timerKind struct {
	name string
	reg  func(s *r24, fn func(context.Context) error, opts ...service.TimerOption) error
}

// timerKinds are the ways to run fn periodically (about once a second or
// minute): Every, Every with FixedDelay, Cron, Cron "@every", and a Go task
// ranging over Ticks (which ends on the first error of fn).
var timerKinds = []timerKind{
	{"Every", func(s *r24, fn func(context.Context) error, o ...service.TimerOption) error {
		return s.Every(time.Second, fn, append(o, service.Named("t"))...)
	}},
	{"FixedDelay", func(s *r24, fn func(context.Context) error, o ...service.TimerOption) error {
		return s.Every(time.Second, fn, append(o, service.Named("t"), service.FixedDelay())...)
	}},
	{"Cron", func(s *r24, fn func(context.Context) error, o ...service.TimerOption) error {
		return s.Cron("* * * * *", fn, append(o, service.Named("t"))...)
	}},
	{"CronEvery", func(s *r24, fn func(context.Context) error, o ...service.TimerOption) error {
		return s.Cron("@every 1s", fn, append(o, service.Named("t"))...)
	}},
	{"Ticks", func(s *r24, fn func(context.Context) error, _ ...service.TimerOption) error {
		return s.Go("t", func(ctx context.Context) error {
			for range s.Ticks(time.Second) {
				if err := fn(ctx); err != nil {
					return err
				}
			}
			return nil
		})
	}},
}

// TestReview24HungCallbackStopBounded: a callback that ignores its ctx and
// hangs does not hold Stop past its budget; Stop's error names the timer's
// task; nothing fires after Stop returned, even once the hung call returns.
func TestReview24HungCallbackStopBounded(t *testing.T) {
	for _, k := range timerKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var calls atomic.Int32
				s := newR24("hang", 2*time.Second, func(ctx context.Context, s *r24) error {
					return k.reg(s, func(context.Context) error {
						calls.Add(1)
						<-release // ignores its ctx
						return nil
					})
				})
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(61 * time.Second) // the first call hangs
				synctest.Wait()
				if n := calls.Load(); n != 1 {
					t.Fatalf("%d calls before Stop, want 1 (hung)", n)
				}
				began := time.Now()
				err := s.Stop(context.Background())
				took := time.Since(began)
				if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), `task "t"`) {
					t.Fatalf("Stop: %v, want ErrStopTimeout naming task \"t\"", err)
				}
				if took > 3*time.Second {
					t.Fatalf("Stop took %v, budget 2s", took)
				}
				if st := s.State(); st != service.Shutdown {
					t.Fatalf("state %v, want Shutdown", st)
				}
				close(release)
				synctest.Wait()
				time.Sleep(time.Hour)
				synctest.Wait()
				if n := calls.Load(); n != 1 {
					t.Fatalf("%d calls, want 1: fired after Stop returned", n)
				}
			})
		})
	}
}

// TestReview24HungWorkersNamed: each hung loop of a Workers(3) timer is
// named in Stop's error.
func TestReview24HungWorkersNamed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		s := newR24("w", time.Second, func(ctx context.Context, s *r24) error {
			return s.Every(time.Second, func(context.Context) error { <-release; return nil },
				service.Named("w"), service.Workers(3))
		})
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		err := s.Stop(context.Background())
		for _, n := range []string{`task "w[1]"`, `task "w[2]"`, `task "w[3]"`} {
			if err == nil || !strings.Contains(err.Error(), n) {
				t.Errorf("Stop: %v, want it to name %s", err, n)
			}
		}
		close(release)
		synctest.Wait()
	})
}

// TestReview24CallbackErrorsAtStop: a callback returning its ctx's error
// when stopped is silent; one returning another error after the stop
// cancelled it is joined into Stop's error (as a Go task's); with
// ContinueOnError it is only logged.
func TestReview24CallbackErrorsAtStop(t *testing.T) {
	boom := errors.New("boom24")
	for _, tt := range []struct {
		name    string
		ret     func(ctx context.Context) error
		opts    []service.TimerOption
		wantErr error
	}{
		{"ctx error", func(ctx context.Context) error { return ctx.Err() }, nil, nil},
		{"cause", func(ctx context.Context) error { return context.Cause(ctx) }, nil, nil},
		{"other error", func(context.Context) error { return boom }, nil, boom},
		{"other error, ContinueOnError", func(context.Context) error { return boom },
			[]service.TimerOption{service.ContinueOnError()}, nil},
	} {
		for _, k := range timerKinds {
			if tt.opts != nil && k.name == "Ticks" {
				continue // Ticks has no options: its task fails
			}
			t.Run(tt.name+"/"+k.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					s := newR24("e", 5*time.Second, func(ctx context.Context, s *r24) error {
						return k.reg(s, func(ctx context.Context) error {
							<-ctx.Done()
							return tt.ret(ctx)
						}, tt.opts...)
					})
					if err := service.Start(t.Context(), s); err != nil {
						t.Fatal(err)
					}
					time.Sleep(61 * time.Second)
					synctest.Wait()
					err := s.Stop(context.Background())
					if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
						t.Fatalf("Stop: %v, want %v", err, tt.wantErr)
					}
					if st := s.State(); st != service.Shutdown {
						t.Fatalf("state %v", st)
					}
				})
			})
		}
	}
}

// TestReview24PanicCrashesServiceThenRestartOnce: a panicking callback
// crashes the service (a PanicError, the process lives); after a Restart
// the timer registered again in OnStart fires once per slot from the new
// anchor, never twice nor from the previous run.
func TestReview24PanicCrashesServiceThenRestartOnce(t *testing.T) {
	for _, k := range timerKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					mu    sync.Mutex
					fires []int // run number of each call
				)
				s := newR24("p", 5*time.Second, nil)
				s.onStart = func(ctx context.Context, s *r24) error {
					run := s.RestartCount()
					return k.reg(s, func(context.Context) error {
						mu.Lock()
						fires = append(fires, run)
						n := len(fires)
						mu.Unlock()
						if n == 2 {
							panic("tick24")
						}
						return nil
					})
				}
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(121 * time.Second)
				synctest.Wait()
				if st := s.State(); st != service.Crashed {
					t.Fatalf("state %v after the panic, want Crashed", st)
				}
				var pe *service.PanicError
				if !errors.As(s.CrashReason(), &pe) {
					t.Fatalf("crash reason %v, want a PanicError", s.CrashReason())
				}
				if err := s.Restart(t.Context()); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10*time.Minute + time.Second/2)
				synctest.Wait()
				mu.Lock()
				got := append([]int(nil), fires...)
				mu.Unlock()
				// Run 0: two calls (the second panicked). Run 1: one call a
				// slot for 10 minutes (600 for a 1s period, 10 for cron).
				want := 600
				if k.name == "Cron" {
					want = 10
				}
				if len(got) != 2+want || got[0] != 0 || got[1] != 0 {
					t.Fatalf("%d calls, first %v; want 2 of run 0 then %d", len(got), got[:min(len(got), 3)], want)
				}
				for _, r := range got[2:] {
					if r != 1 {
						t.Fatalf("a call of run %d after the restart", r)
					}
				}
				if k.name != "Ticks" {
					if ts := s.Timers(); len(ts) != 1 || ts[0].Runs != int64(want) {
						t.Fatalf("Timers() = %+v, want one timer with %d runs", ts, want)
					}
				}
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestReview24RestartMidSleep: a Restart from outside while a timer sleeps
// ends the old loop: the new run's timer fires on its own anchor only.
func TestReview24RestartMidSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		var mu sync.Mutex
		var at []time.Duration
		s := newR24("r", 5*time.Second, func(ctx context.Context, s *r24) error {
			return s.Every(time.Second, func(context.Context) error {
				mu.Lock()
				at = append(at, time.Since(t0))
				mu.Unlock()
				return nil
			})
		})
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond) // a call at 1s
		if err := s.Restart(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // calls at 2.5s, 3.5s
		synctest.Wait()
		mu.Lock()
		got := append([]time.Duration(nil), at...)
		mu.Unlock()
		want := []time.Duration{time.Second, 2500 * time.Millisecond, 3500 * time.Millisecond}
		if len(got) != len(want) {
			t.Fatalf("calls at %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("calls at %v, want %v", got, want)
			}
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReview24RollbackNoFire: a timer with ExecFirst registered in
// an OnStart that then fails must not call fn once the start is rolled
// back (its run cancelled), nor ever after; neither does any other timer.
func TestReview24RollbackNoFire(t *testing.T) {
	for _, first := range []bool{false, true} {
		for _, k := range timerKinds {
			name := k.name
			if first {
				if k.name == "Ticks" {
					continue
				}
				name += "/ExecFirst"
			}
			t.Run(name, func(t *testing.T) {
				// At one P the timer's goroutine first runs when the
				// rollback, having cancelled the run, yields to join it:
				// the ExecFirst call must then not be made.
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				for range 20 {
					rollbackOnce(t, k, first)
				}
			})
		}
	}
}

func rollbackOnce(t *testing.T, k timerKind, first bool) {
	synctest.Test(t, func(t *testing.T) {
		var calls, cancelled atomic.Int32
		var opts []service.TimerOption
		if first {
			opts = append(opts, service.ExecFirst())
		}
		s := newR24("rb", 5*time.Second, func(ctx context.Context, s *r24) error {
			if err := k.reg(s, func(ctx context.Context) error {
				calls.Add(1)
				if ctx.Err() != nil {
					cancelled.Add(1)
				}
				return nil
			}, opts...); err != nil {
				return err
			}
			return errors.New("start fails")
		})
		if err := service.Start(t.Context(), s); err == nil {
			t.Fatal("Start succeeded")
		}
		if st := s.State(); st != service.Init {
			t.Fatalf("state %v after rollback, want Init", st)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := cancelled.Load(); n != 0 {
			t.Errorf("fn called %d times with its run already cancelled", n)
		}
		if n := calls.Load(); n > 1 || n == 1 && !first {
			t.Errorf("fn called %d times after a rolled-back start", n)
		}
	})
}

// TestReview24RegisterOutsideRun: timers registered in Init, from OnStop
// (stopping), on a crashed service and after Shutdown are refused, with
// nothing started; Ticks yields nothing there.
func TestReview24RegisterOutsideRun(t *testing.T) {
	fn := func(context.Context) error { return nil }
	try := func(s *r24) []error {
		var ticks int
		for range s.Ticks(time.Millisecond) {
			ticks++
			break
		}
		errs := []error{
			s.Every(time.Second, fn),
			s.Every(time.Second, fn, service.FixedDelay()),
			s.Cron("* * * * *", fn),
			s.Go("g", fn),
		}
		if ticks != 0 {
			errs = append(errs, errors.New("Ticks yielded"))
		}
		return errs
	}
	check := func(t *testing.T, where string, errs []error, want error) {
		t.Helper()
		for i, err := range errs {
			if !errors.Is(err, want) {
				t.Errorf("%s: registration %d: %v, want %v", where, i, err, want)
			}
		}
	}
	synctest.Test(t, func(t *testing.T) {
		var inStop []error
		s := newR24("o", 5*time.Second, nil)
		check(t, "Init", try(s), service.ErrNotStarted)
		s.onStop = func(context.Context, *r24) error { inStop = try(s); return nil }
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		check(t, "OnStop", inStop, service.ErrStopping)
		check(t, "Shutdown", try(s), service.ErrNotStarted)

		c := newR24("c", 5*time.Second, nil)
		if err := service.Start(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		c.Crash(errors.New("crash24"))
		synctest.Wait()
		check(t, "Crashed", try(c), service.ErrStopping)
		_ = c.Stop(context.Background())
		if n := len(s.Tasks()) + len(c.Tasks()); n != 0 {
			t.Fatalf("%d tasks left", n)
		}
	})
}

// TestReview24BadIntervalsAndSpecs: intervals ≤ 0 and bad or never-firing
// specs are refused; a huge interval is accepted and simply never fires.
func TestReview24BadIntervalsAndSpecs(t *testing.T) {
	fn := func(context.Context) error { return nil }
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		var errs = map[string]error{}
		var ticks0 int
		s := newR24("b", 5*time.Second, func(ctx context.Context, s *r24) error {
			errs["Every 0"] = s.Every(0, fn)
			errs["Every -1ns"] = s.Every(-1, fn)
			errs["Every min"] = s.Every(math.MinInt64, fn, service.FixedDelay())
			for _, spec := range []string{
				"", "   ", "* * *", "61 * * * *", "* 24 * * *", "0 0 30 2 *", "0 0 31 4,6,9,11 *",
				"CRON_TZ=Nowhere/Land * * * * *", "CRON_TZ=", "TZ=UTC", "CRON_TZ=UTC TZ=UTC * * * * *",
				"@every", "@every x", "@never", "* * * * * * *",
			} {
				errs["Cron "+spec] = s.Cron(spec, fn)
			}
			for range s.Ticks(0) {
				ticks0++
			}
			for range s.Ticks(-time.Second) {
				ticks0++
			}
			count := func(context.Context) error { calls.Add(1); return nil }
			if err := s.Every(math.MaxInt64, count); err != nil {
				return err
			}
			return s.Every(math.MaxInt64, count, service.FixedDelay())
		})
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		for what, err := range errs {
			want := service.ErrBadArgument
			if strings.HasPrefix(what, "Cron") {
				want = service.ErrBadCronSpec
			}
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", what, err, want)
			}
		}
		if ticks0 != 0 {
			t.Errorf("Ticks(≤0) yielded %d times", ticks0)
		}
		time.Sleep(100 * 365 * 24 * time.Hour)
		synctest.Wait()
		if n := calls.Load(); n != 0 {
			t.Errorf("a MaxInt64 interval fired %d times in 100 years", n)
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReview24LongCallbackOverlap: a call three and a half periods long is
// followed at once by one call for the latest slot passed, the slots in
// between skipped and counted, one overlap; FixedDelay waits a full period
// after it instead, with nothing skipped.
func TestReview24LongCallbackOverlap(t *testing.T) {
	for _, tt := range []struct {
		name             string
		kind             timerKind
		period           time.Duration
		want             []time.Duration // call times, from registration
		skipped, overlap int64
	}{
		{"Every", timerKinds[0], time.Second,
			[]time.Duration{1000, 4500, 5000}, 2, 1},
		{"FixedDelay", timerKinds[1], time.Second,
			[]time.Duration{1000, 5500, 6500}, 0, 0},
		{"CronEvery", timerKinds[3], time.Second,
			[]time.Duration{1000, 4500, 5000}, 2, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				t0 := time.Now()
				var mu sync.Mutex
				var at []time.Duration
				s := newR24("l", 5*time.Second, func(ctx context.Context, s *r24) error {
					return tt.kind.reg(s, func(context.Context) error {
						mu.Lock()
						at = append(at, time.Since(t0)/time.Millisecond)
						n := len(at)
						mu.Unlock()
						if n == 1 {
							time.Sleep(3500 * time.Millisecond)
						}
						return nil
					})
				})
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.want[len(tt.want)-1]*time.Millisecond + time.Millisecond)
				synctest.Wait()
				mu.Lock()
				got := append([]time.Duration(nil), at...)
				mu.Unlock()
				if len(got) != len(tt.want) {
					t.Fatalf("calls at %v ms, want %v", got, tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Fatalf("calls at %v ms, want %v", got, tt.want)
					}
				}
				st := s.Timers()[0]
				if st.Skipped != tt.skipped || st.Overlaps != tt.overlap {
					t.Fatalf("stats %+v, want %d skipped, %d overlaps", st, tt.skipped, tt.overlap)
				}
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// runCount counts a timer's calls per run of its service.
type runCount struct {
	mu sync.Mutex
	n  map[int]int
}

func (c *runCount) add(run int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[int]int{}
	}
	c.n[run]++
	total := 0
	for _, v := range c.n {
		total += v
	}
	return total
}

func (c *runCount) get() map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

// TestReview24ReentrantFromCallback: from inside its first call, a timer
// callback of child c (under plain parent p) calls c's or p's Stop,
// Restart, Crash, Go, Every, Cron. Each call returns within a second of
// fake time (or, for a Stop with a context not of the service, within the
// budget, naming the timer), and the tree ends in the documented state.
func TestReview24ReentrantFromCallback(t *testing.T) {
	boom := errors.New("crash24")
	type tree struct{ p, c *r24 }
	for _, tt := range []struct {
		name string
		op   func(ctx context.Context, tr tree) error
		// budget: the op may wait the stop budget (2s) and return its error.
		budget               bool
		pState, cState       service.State
		pRestarts, cRestarts int
		extra                bool // the op started a second periodic call (Go/Every/Cron)
	}{
		{name: "own Stop", op: func(ctx context.Context, tr tree) error { return tr.c.Stop(ctx) },
			pState: service.Running, cState: service.Shutdown},
		{name: "own Stop, foreign ctx", op: func(_ context.Context, tr tree) error { return tr.c.Stop(context.Background()) },
			budget: true, pState: service.Running, cState: service.Shutdown},
		{name: "own Restart", op: func(ctx context.Context, tr tree) error { return tr.c.Restart(ctx) },
			pState: service.Running, cState: service.Running, cRestarts: 1},
		{name: "own Crash", op: func(_ context.Context, tr tree) error { tr.c.Crash(boom); return nil },
			pState: service.Crashed, cState: service.Crashed},
		{name: "Go", op: func(ctx context.Context, tr tree) error {
			return tr.c.Go("g", func(ctx context.Context) error {
				for range tr.c.Ticks(time.Second) {
				}
				return nil
			})
		}, pState: service.Running, cState: service.Running, extra: true},
		{name: "Every", op: func(ctx context.Context, tr tree) error {
			return tr.c.Every(time.Second, func(context.Context) error { return nil })
		}, pState: service.Running, cState: service.Running, extra: true},
		{name: "Cron", op: func(ctx context.Context, tr tree) error {
			return tr.c.Cron("@every 1s", func(context.Context) error { return nil }, service.ExecFirst())
		}, pState: service.Running, cState: service.Running, extra: true},
		{name: "parent Stop", op: func(ctx context.Context, tr tree) error { return tr.p.Stop(ctx) },
			pState: service.Shutdown, cState: service.Shutdown},
		{name: "parent Stop, foreign ctx", op: func(_ context.Context, tr tree) error { return tr.p.Stop(context.Background()) },
			budget: true, pState: service.Shutdown, cState: service.Shutdown},
		{name: "parent Restart", op: func(ctx context.Context, tr tree) error { return tr.p.Restart(ctx) },
			pState: service.Running, cState: service.Running, pRestarts: 1, cRestarts: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var (
					calls  runCount
					once   atomic.Bool
					opErr  error
					opTook time.Duration
					opDone atomic.Bool
					tr     tree
				)
				tr.c = newR24("c", 2*time.Second, func(ctx context.Context, c *r24) error {
					run := c.RestartCount()
					return c.Every(time.Second, func(ctx context.Context) error {
						calls.add(run)
						if once.CompareAndSwap(false, true) {
							began := time.Now()
							opErr = tt.op(ctx, tr)
							opTook = time.Since(began)
							opDone.Store(true)
						}
						return nil
					}, service.Named("t"))
				})
				tr.p = newR24("p", 4*time.Second, nil)
				if err := tr.p.AddDependency(tr.c); err != nil {
					t.Fatal(err)
				}
				if err := service.Start(t.Context(), tr.p); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				time.Sleep(10 * time.Second) // let any stop or restart finish
				synctest.Wait()
				if !opDone.Load() {
					t.Fatal("the call from inside the callback has not returned")
				}
				if tt.budget {
					if opTook > 3*time.Second {
						t.Errorf("op took %v, budget 2s", opTook)
					}
					if opErr != nil && (!errors.Is(opErr, service.ErrStopTimeout) || !strings.Contains(opErr.Error(), `task "t"`)) {
						t.Errorf("op: %v, want nil or ErrStopTimeout naming task \"t\"", opErr)
					}
				} else {
					if opTook > time.Second {
						t.Errorf("op took %v", opTook)
					}
					if opErr != nil {
						t.Errorf("op: %v", opErr)
					}
				}
				if st := tr.p.State(); st != tt.pState {
					t.Errorf("parent state %v, want %v", st, tt.pState)
				}
				if st := tr.c.State(); st != tt.cState {
					t.Errorf("child state %v, want %v", st, tt.cState)
				}
				if n := tr.p.RestartCount(); n != tt.pRestarts {
					t.Errorf("parent restarts %d, want %d", n, tt.pRestarts)
				}
				if n := tr.c.RestartCount(); n != tt.cRestarts {
					t.Errorf("child restarts %d, want %d", n, tt.cRestarts)
				}
				if tt.cState == service.Running {
					// One call per second of the current run, none of an
					// earlier one after the op.
					before := calls.get()
					time.Sleep(5 * time.Second)
					synctest.Wait()
					after := calls.get()
					for run, n := range after {
						d := n - before[run]
						if run != tt.cRestarts && d != 0 {
							t.Errorf("run %d called %d times after the restart", run, d)
						}
						if run == tt.cRestarts && d != 5 {
							t.Errorf("current run called %d times in 5s, want 5", d)
						}
					}
					if tt.extra {
						if n := len(tr.c.Tasks()); n != 2 {
							t.Errorf("tasks %v, want 2", tr.c.Tasks())
						}
					}
				}
				_ = tr.p.Stop(context.Background())
				synctest.Wait()
				final := calls.get()
				time.Sleep(time.Hour)
				synctest.Wait()
				if got := calls.get(); len(got) != len(final) || got[tt.cRestarts] != final[tt.cRestarts] {
					t.Errorf("calls after Stop returned: %v then %v", final, got)
				}
				if n := len(tr.c.Tasks()) + len(tr.p.Tasks()); n != 0 {
					t.Errorf("%d tasks left", n)
				}
			})
		})
	}
}

// TestReview24SupervisorOpsFromCallback: from inside a timer callback of
// supervised child c, call the supervisor's Add, Remove(c), Terminate(c),
// RestartChild(c), Stop and Restart, and c's own Stop. Each returns (queued or done) and the
// tree ends in the documented state.
func TestReview24SupervisorOpsFromCallback(t *testing.T) {
	for _, tt := range []struct {
		name    string
		op      func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error
		wantErr error
		check   func(t *testing.T, sup *supervisor.Supervisor, c *r24)
	}{
		{name: "Add", op: func(ctx context.Context, sup *supervisor.Supervisor, _ *r24) error {
			return sup.Add(ctx, newR24("n", time.Second, nil), supervisor.ChildSpec{ID: "n"})
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if n := sup.Child("n"); n == nil || n.(*r24).State() != service.Running {
				t.Errorf("added child: %v", n)
			}
		}},
		{name: "Remove self", op: func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error {
			return sup.Remove(ctx, c)
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if sup.Child("c") != nil || c.State() != service.Shutdown {
				t.Errorf("after Remove: child %v, state %v", sup.Child("c"), c.State())
			}
		}},
		{name: "Terminate self", op: func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error {
			return sup.Terminate(ctx, "c")
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if c.State() != service.Shutdown {
				t.Errorf("after Terminate: state %v", c.State())
			}
		}},
		{name: "RestartChild self", op: func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error {
			return sup.RestartChild(ctx, "c")
			// From inside the child it is queued (nil at once); the
			// queued request then fails with ErrChildRunning, logged.
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if c.State() != service.Running || c.RestartCount() != 0 {
				t.Errorf("state %v, restarts %d", c.State(), c.RestartCount())
			}
		}},
		{name: "own Stop (an exit: restarted)", op: func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error {
			return c.Stop(ctx)
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if c.State() != service.Running || c.RestartCount() != 1 {
				t.Errorf("state %v, restarts %d, want Running, 1", c.State(), c.RestartCount())
			}
		}},
		{name: "supervisor Stop", op: func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error {
			return sup.Stop(ctx)
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if sup.State() != service.Shutdown || c.State() != service.Shutdown {
				t.Errorf("states %v, %v", sup.State(), c.State())
			}
		}},
		{name: "supervisor Restart", op: func(ctx context.Context, sup *supervisor.Supervisor, c *r24) error {
			return sup.Restart(ctx)
		}, check: func(t *testing.T, sup *supervisor.Supervisor, c *r24) {
			if sup.State() != service.Running || c.State() != service.Running || sup.RestartCount() != 1 {
				t.Errorf("states %v, %v, restarts %d", sup.State(), c.State(), sup.RestartCount())
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var once atomic.Bool
				var opErr error
				var opTook time.Duration
				var opDone atomic.Bool
				sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
				c := newR24("c", 2*time.Second, nil)
				c.onStart = func(ctx context.Context, s *r24) error {
					return s.Every(time.Second, func(ctx context.Context) error {
						if once.CompareAndSwap(false, true) {
							began := time.Now()
							opErr = tt.op(ctx, sup, c)
							opTook = time.Since(began)
							opDone.Store(true)
						}
						return nil
					}, service.Named("t"))
				}
				if err := sup.Add(t.Context(), c, supervisor.ChildSpec{ID: "c"}); err != nil {
					t.Fatal(err)
				}
				if err := service.Start(t.Context(), sup); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if !opDone.Load() {
					t.Fatal("the call from inside the callback has not returned")
				}
				if opTook > time.Second {
					t.Errorf("op took %v", opTook)
				}
				if !errors.Is(opErr, tt.wantErr) || (tt.wantErr == nil && opErr != nil) {
					t.Errorf("op: %v, want %v", opErr, tt.wantErr)
				}
				tt.check(t, sup, c)
				if err := sup.Stop(context.Background()); err != nil {
					t.Error(err)
				}
				synctest.Wait()
			})
		})
	}
}

// stepTo waits for the timer to be armed, checks its deadline and moves the
// fake clock there.
func stepTo(t *testing.T, fake *clock.Fake, want time.Time) {
	t.Helper()
	armed(t, fake, 1)
	wantDeadline(t, fake, want)
	fake.Set(want)
}

// TestReview24CronDSTHalfHourZone: Australia/Lord_Howe moves its clocks by
// 30 minutes. A fixed time in the skipped half hour runs once at the jump,
// one in the repeated half hour once, in its first copy; a job with every
// hour follows the wall clock: no run in the gap, both copies of the
// repeated half hour.
func TestReview24CronDSTHalfHourZone(t *testing.T) {
	lh := zone(t, "Australia/Lord_Howe")
	u := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2024, mo, d, h, mi, 0, 0, time.UTC) }
	cronDSTCases(t, func(s *timed, spec string, fn func(context.Context) error) error {
		return s.Cron("CRON_TZ=Australia/Lord_Howe "+spec, fn)
	}, []cronDSTCase{
		// 2024-10-06 02:00 +10:30 (15:30 UTC on the 5th) becomes 02:30 +11.
		{"spring: 02:15 runs at the jump", time.Date(2024, 10, 5, 12, 0, 0, 0, lh), "15 2 * * *",
			[]time.Time{u(10, 5, 15, 30), u(10, 6, 15, 15)}},
		{"spring: every 15 minutes", time.Date(2024, 10, 6, 1, 40, 0, 0, lh), "*/15 * * * *",
			[]time.Time{u(10, 5, 15, 15), u(10, 5, 15, 30), u(10, 5, 15, 45)}},
		// 2024-04-07 02:00 +11 (15:00 UTC on the 6th) becomes 01:30 +10:30.
		{"autumn: 01:45 runs once", time.Date(2024, 4, 6, 12, 0, 0, 0, lh), "45 1 * * *",
			[]time.Time{u(4, 6, 14, 45), u(4, 7, 15, 15)}},
		{"autumn: every 15 minutes", time.Date(2024, 4, 7, 1, 10, 0, 0, lh), "*/15 * * * *",
			[]time.Time{u(4, 6, 14, 15), u(4, 6, 14, 30), u(4, 6, 14, 45), u(4, 6, 15, 0), u(4, 6, 15, 15), u(4, 6, 15, 30)}},
	})
}

// TestReview24CronWallStepForward: a step of the wall clock forward while a
// Cron timer sleeps makes its wake late (documented): it serves the latest
// fire time passed, once, counting the one skipped and a drift.
func TestReview24CronWallStepForward(t *testing.T) {
	fake := clock.NewFake(epoch)
	cl := newCalls()
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Cron("0 * * * *", cl.fn(fake), service.InLocation(time.UTC))
	})
	armed(t, fake, 1)
	fake.StepWall(90 * time.Minute) // 01:30; the timer is due in an hour
	stepTo(t, fake, epoch.Add(150*time.Minute))
	if at := cl.next(t); !at.Equal(epoch.Add(150 * time.Minute)) {
		t.Fatalf("call at %v", at)
	}
	stepTo(t, fake, epoch.Add(3*time.Hour))
	if at := cl.next(t); !at.Equal(epoch.Add(3 * time.Hour)) {
		t.Fatalf("call at %v", at)
	}
	armed(t, fake, 1)
	cl.none(t)
	if st := onlyTimer(t, s); st.Runs != 2 || st.Skipped != 1 || st.Drifts != 1 {
		t.Fatalf("stats %+v, want 2 runs, 1 skipped, 1 drift", st)
	}
}

// Steps of the wall clock are not tested with the fake clock: its times
// carry no monotonic reading (see clock.Fake), so Every, FixedDelay, Cron
// "@every" and Ticks, which compute their slots from Now, would follow a
// StepWall; the real clock's Now carries one, which a step leaves alone,
// as it leaves Go's timers alone. Config.Clock's doc says to leave it nil.

// TestReview24EveryHugeElapsed: after a clock without monotonic readings
// jumps ahead by more than a time.Duration holds (292 years), an Every
// timer, an "@every" Cron or a Ticks loop must not call fn back to back
// (its slot index overflowed into the past): it has no slot left and ends,
// logged.
func TestReview24EveryHugeElapsed(t *testing.T) {
	for _, k := range []timerKind{timerKinds[0], timerKinds[3], timerKinds[4]} {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fake := clock.NewFake(epoch)
				var calls atomic.Int64
				stuck := make(chan struct{})
				s := &r24{onStart: func(ctx context.Context, s *r24) error {
					return k.reg(s, func(context.Context) error {
						if calls.Add(1) > 1 {
							<-stuck // a second call: park it for the check
						}
						return nil
					})
				}}
				s.Configure(service.Config{Name: "huge", Logger: &quiet, Clock: fake})
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				fake.Set(epoch.AddDate(300, 0, 0))
				synctest.Wait()
				if n := calls.Load(); n > 1 {
					t.Errorf("fn called %d times (back to back) after one jump", n)
				}
				close(stuck)
				if err := s.Stop(context.Background()); err != nil {
					t.Error(err)
				}
			})
		})
	}
}

// TestReview24DiagFlagSharedName: two timers with the same name (two
// Every(1s) get the default name "every 1s"; or the same Named, or two
// Crons of one spec) share one diag flag, which must stay set while either
// one's fn runs: the end of one call does not clear it under the other.
func TestReview24DiagFlagSharedName(t *testing.T) {
	for _, tt := range []struct {
		name string
		reg  func(s *r24, fn func(context.Context) error) error
		flag string
	}{
		{"default Every names", func(s *r24, fn func(context.Context) error) error {
			return s.Every(time.Second, fn)
		}, "every 1s"},
		{"same Named", func(s *r24, fn func(context.Context) error) error {
			return s.Every(time.Second, fn, service.Named("poll"))
		}, "poll"},
		{"same cron spec", func(s *r24, fn func(context.Context) error) error {
			return s.Cron("@every 1s", fn)
		}, "cron @every 1s"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				s := newR24("d", 5*time.Second, func(ctx context.Context, s *r24) error {
					if err := tt.reg(s, func(ctx context.Context) error { // long
						select {
						case <-release:
						case <-ctx.Done():
						}
						return nil
					}); err != nil {
						return err
					}
					return tt.reg(s, func(context.Context) error { return nil }) // short
				})
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait() // the long call runs, the short one has returned
				if !s.Diag().Has(tt.flag) {
					t.Errorf("flag %q cleared while a call of a timer so named runs (flags %v)", tt.flag, s.Diag().Flags())
				}
				close(release)
				synctest.Wait()
				if s.Diag().Has(tt.flag) {
					t.Errorf("flag %q still set with no call running", tt.flag)
				}
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestReview24MoreReentrancy: a callback reading Timers, Tasks and Diag
// does not deadlock; a callback that registers after Stop cancelled it is
// refused; a panic in the ExecFirst call crashes the service (the process
// lives) and leaves nothing running.
func TestReview24MoreReentrancy(t *testing.T) {
	t.Run("introspection", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var seen atomic.Int32
			s := newR24("i", 5*time.Second, func(ctx context.Context, s *r24) error {
				return s.Every(time.Second, func(context.Context) error {
					if len(s.Timers()) == 1 && len(s.Tasks()) == 1 && s.Diag().Has("i24") {
						seen.Add(1)
					}
					return nil
				}, service.Named("i24"))
			})
			if err := service.Start(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3500 * time.Millisecond)
			synctest.Wait()
			if n := seen.Load(); n != 3 {
				t.Errorf("%d calls saw their own timer, task and flag, want 3", n)
			}
			if err := s.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("register after stop began", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var errs []error
			s := newR24("a", 5*time.Second, func(ctx context.Context, s *r24) error {
				return s.Every(time.Second, func(ctx context.Context) error {
					<-ctx.Done()
					errs = append(errs,
						s.Every(time.Second, func(context.Context) error { return nil }),
						s.Cron("* * * * *", func(context.Context) error { return nil }),
						s.Go("g", func(context.Context) error { return nil }))
					return nil
				})
			})
			if err := service.Start(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			if err := s.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if len(errs) != 3 {
				t.Fatalf("errs %v", errs)
			}
			for i, err := range errs {
				if !errors.Is(err, service.ErrStopping) {
					t.Errorf("registration %d from a stopping callback: %v, want ErrStopping", i, err)
				}
			}
		})
	})
	t.Run("ExecFirst panic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newR24("x", 5*time.Second, func(ctx context.Context, s *r24) error {
				return s.Every(time.Second, func(context.Context) error { panic("first24") }, service.ExecFirst())
			})
			err := service.Start(t.Context(), s)
			synctest.Wait()
			var pe *service.PanicError
			switch st := s.State(); {
			case err == nil && st == service.Crashed && errors.As(s.CrashReason(), &pe):
			case err != nil && st == service.Init && errors.As(err, &pe):
			default:
				t.Fatalf("Start: %v, state %v, reason %v: want a crash or a failed start with the PanicError", err, st, s.CrashReason())
			}
			_ = s.Stop(context.Background())
			if n := len(s.Tasks()); n != 0 {
				t.Fatalf("tasks left: %v", s.Tasks())
			}
		})
	})
}

// TestReview24RestartPastHungCallback: a callback crashes its service and
// then hangs ignoring its ctx. Restart abandons it at the budget (naming
// it) and starts the new run, whose timer fires once a slot; when the hung
// call finally returns, its loop ends without another call.
func TestReview24RestartPastHungCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls runCount
		release := make(chan struct{})
		s := newR24("h", 2*time.Second, nil)
		s.onStart = func(ctx context.Context, s *r24) error {
			run := s.RestartCount()
			return s.Every(time.Second, func(context.Context) error {
				calls.add(run)
				if run == 0 {
					s.Crash(errors.New("crash24"))
					<-release
				}
				return nil
			}, service.Named("t"))
		}
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if st := s.State(); st != service.Crashed {
			t.Fatalf("state %v, want Crashed", st)
		}
		err := s.Restart(t.Context())
		if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), `task "t"`) {
			t.Fatalf("Restart: %v, want ErrStopTimeout naming the hung call", err)
		}
		t.Logf("Restart: %v; state %v", err, s.State())
		time.Sleep(5 * time.Second)
		close(release)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		got := calls.get()
		if got[0] != 1 {
			t.Errorf("run 0 called %d times, want 1", got[0])
		}
		if s.State() == service.Running && got[1] != 10 {
			t.Errorf("run 1 called %d times in 10s, want 10", got[1])
		}
		_ = s.Stop(context.Background())
	})
}

// TestReview24StopRacesInnerRestart: a callback calls its service's Restart
// while the test calls Stop: Stop wins (the service ends in Shutdown) and
// nothing fires after it returned.
func TestReview24StopRacesInnerRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		inside := make(chan struct{})
		var once atomic.Bool
		s := newR24("sr", 2*time.Second, nil)
		s.onStart = func(ctx context.Context, s *r24) error {
			return s.Every(time.Second, func(ctx context.Context) error {
				calls.Add(1)
				if once.CompareAndSwap(false, true) {
					close(inside)
					_ = s.Restart(ctx)
				}
				return nil
			})
		}
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		<-inside
		_ = s.Stop(context.Background())
		synctest.Wait()
		if st := s.State(); st != service.Shutdown {
			t.Fatalf("state %v after Stop, want Shutdown", st)
		}
		n := calls.Load()
		time.Sleep(time.Hour)
		synctest.Wait()
		if m := calls.Load(); m != n {
			t.Fatalf("%d calls after Stop returned", m-n)
		}
		if st := s.State(); st != service.Shutdown {
			t.Fatalf("state %v an hour after Stop, want Shutdown", st)
		}
	})
}

// TestReview24InnerCallsWhileStopping: a callback woken by its ctx's end
// (the service is stopping) calls its service's Restart and Stop with that
// ctx: both return at once, the Stop in progress finishes, the service is
// left in Shutdown and not started again.
func TestReview24InnerCallsWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var restartErr, stopErr error
		var took time.Duration
		s := newR24("ws", 2*time.Second, func(ctx context.Context, s *r24) error {
			return s.Every(time.Second, func(ctx context.Context) error {
				<-ctx.Done()
				began := time.Now()
				restartErr = s.Restart(ctx)
				stopErr = s.Stop(ctx)
				took = time.Since(began)
				return nil
			})
		})
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		t.Logf("inner Restart: %v; inner Stop: %v", restartErr, stopErr)
		if took > time.Second {
			t.Errorf("inner calls took %v", took)
		}
		if st := s.State(); st != service.Shutdown || s.RestartCount() != 0 {
			t.Errorf("state %v, restarts %d; want Shutdown, 0", st, s.RestartCount())
		}
		if len(s.Timers()) != 0 || len(s.Tasks()) != 0 {
			t.Errorf("after Stop: timers %v, tasks %v", s.Timers(), s.Tasks())
		}
	})
}

// TestReview24CronLongStall: a Cron wake a week late (a suspended host,
// a stepped clock) calls fn once, for the latest fire time, not in a
// burst; the skipped times are counted (at least the 10,000 catchUp
// counts), and the next fire is the next minute.
func TestReview24CronLongStall(t *testing.T) {
	fake := clock.NewFake(epoch)
	cl := newCalls()
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Cron("* * * * *", cl.fn(fake), service.InLocation(time.UTC))
	})
	armed(t, fake, 1)
	fake.StepWall(8 * 24 * time.Hour)
	late := epoch.Add(8*24*time.Hour + 90*time.Second)
	fake.Set(late) // the wake at 8 days 00:01:30
	if at := cl.next(t); !at.Equal(late) {
		t.Fatalf("call at %v, want %v", at, late)
	}
	stepTo(t, fake, epoch.Add(8*24*time.Hour+2*time.Minute))
	cl.next(t)
	armed(t, fake, 1)
	cl.none(t)
	st := onlyTimer(t, s)
	t.Logf("stats %+v", st)
	if st.Runs != 2 || st.Skipped < 10000 {
		t.Fatalf("stats %+v, want 2 runs and ≥ 10000 skipped", st)
	}
}

// TestReview24AbandonedCallbackFailsLate: a callback of run 0, abandoned
// by a Restart at the stop budget, returns an error or panics after the new
// run started: that is only logged, the new run keeps running, and its
// timer fires once a slot.
func TestReview24AbandonedCallbackFailsLate(t *testing.T) {
	for _, how := range []string{"error", "panic"} {
		t.Run(how, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls runCount
				release := make(chan struct{})
				s := newR24("late", time.Second, nil)
				s.onStart = func(ctx context.Context, s *r24) error {
					run := s.RestartCount()
					return s.Every(time.Second, func(context.Context) error {
						calls.add(run)
						if run == 0 {
							<-release
							if how == "panic" {
								panic("late24")
							}
							return errors.New("late24")
						}
						return nil
					}, service.Named("t"))
				}
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(1500 * time.Millisecond)
				if err := s.Restart(t.Context()); !errors.Is(err, service.ErrStopTimeout) {
					t.Fatalf("Restart: %v, want ErrStopTimeout", err)
				}
				close(release)
				time.Sleep(10 * time.Second)
				synctest.Wait()
				if st := s.State(); st != service.Running || s.CrashReason() != nil {
					t.Fatalf("state %v, reason %v: the old run's late failure reached the new one", st, s.CrashReason())
				}
				if got := calls.get(); got[0] != 1 || got[1] != 10 {
					t.Fatalf("calls per run %v, want 1 then 10", got)
				}
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestReview24TicksOutsideTasks: Ticks ranged on the test's goroutine ends
// when the service stops; ranged inside OnStart (blocking the start) it
// ends when the start ctx's deadline rolls the start back.
func TestReview24TicksOutsideTasks(t *testing.T) {
	t.Run("foreign goroutine", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newR24("tk", time.Second, nil)
			if err := service.Start(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			n := 0
			for range s.Ticks(time.Second) {
				n++
				if n == 3 {
					go func() { _ = s.Stop(context.Background()) }()
				}
			}
			if n != 3 {
				t.Fatalf("%d ticks, want 3 (none after Stop began)", n)
			}
			synctest.Wait()
		})
	})
	t.Run("in OnStart", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var n atomic.Int32
			s := newR24("tks", time.Second, func(ctx context.Context, s *r24) error {
				for range s.Ticks(time.Second) {
					n.Add(1)
				}
				return ctx.Err()
			})
			ctx, cancel := context.WithTimeout(t.Context(), 5500*time.Millisecond)
			defer cancel()
			err := service.Start(ctx, s)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Start: %v, want DeadlineExceeded", err)
			}
			synctest.Wait()
			m := n.Load()
			time.Sleep(time.Minute)
			synctest.Wait()
			if n.Load() != m || m > 6 {
				t.Fatalf("%d ticks, then %d: ticks after the rolled-back start", m, n.Load())
			}
			if st := s.State(); st != service.Init {
				t.Fatalf("state %v, want Init", st)
			}
		})
	})
}

// TestReview24StaleRegistrationFromOldRun: a callback of run 0 that outlives
// its run (abandoned by a Restart) and then calls Every registers a timer
// on run 1, as the package doc says ("Budgets: Stop always returns"):
// abandoned code acts on the service as it is now. If registration ever
// takes the caller's ctx and refuses an outlived run's, this test changes.
func TestReview24StaleRegistrationFromOldRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stale atomic.Int32
		release := make(chan struct{})
		var regErr error
		s := newR24("stale", time.Second, nil)
		s.onStart = func(ctx context.Context, s *r24) error {
			if s.RestartCount() > 0 {
				return nil
			}
			return s.Every(time.Second, func(context.Context) error {
				<-release
				regErr = s.Every(time.Second, func(context.Context) error { stale.Add(1); return nil })
				return nil
			})
		}
		if err := service.Start(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		_ = s.Restart(t.Context())
		close(release)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if regErr != nil || stale.Load() == 0 {
			t.Errorf("old run's callback: Every %v, %d calls on the new run (documented: it registers there)", regErr, stale.Load())
		}
		_ = s.Stop(context.Background())
	})
}

// TestReview24CronDSTAtMidnight: America/Santiago changes at midnight, so
// the skipped hour holds 00:00 (robfig's own Next is known to mishandle a
// missing midnight) and the repeated hour is 23:00 of the day before.
func TestReview24CronDSTAtMidnight(t *testing.T) {
	scl := zone(t, "America/Santiago")
	u := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2024, mo, d, h, mi, 0, 0, time.UTC) }
	cronDSTCases(t, func(s *timed, spec string, fn func(context.Context) error) error {
		return s.Cron(spec, fn, service.InLocation(scl))
	}, []cronDSTCase{
		// 2024-09-08 00:00 -04 (04:00 UTC) becomes 01:00 -03.
		{"spring: @daily runs at the jump", time.Date(2024, 9, 6, 12, 0, 0, 0, scl), "@daily",
			[]time.Time{u(9, 7, 4, 0), u(9, 8, 4, 0), u(9, 9, 3, 0)}},
		{"spring: 00:30 runs at the jump", time.Date(2024, 9, 7, 12, 0, 0, 0, scl), "30 0 * * *",
			[]time.Time{u(9, 8, 4, 0), u(9, 9, 3, 30)}},
		{"spring: hourly skips the missing hour", time.Date(2024, 9, 7, 22, 30, 0, 0, scl), "@hourly",
			[]time.Time{u(9, 8, 3, 0), u(9, 8, 4, 0), u(9, 8, 5, 0)}},
		// 2024-04-07 00:00 -03 (03:00 UTC) becomes 23:00 -04 on the 6th.
		{"autumn: 23:30 runs once", time.Date(2024, 4, 6, 12, 0, 0, 0, scl), "30 23 * * *",
			[]time.Time{u(4, 7, 2, 30), u(4, 8, 3, 30)}},
		{"autumn: @daily once", time.Date(2024, 4, 6, 12, 0, 0, 0, scl), "@daily",
			[]time.Time{u(4, 7, 4, 0), u(4, 8, 4, 0)}},
		{"autumn: hourly runs both 23:00", time.Date(2024, 4, 6, 21, 30, 0, 0, scl), "@hourly",
			[]time.Time{u(4, 7, 1, 0), u(4, 7, 2, 0), u(4, 7, 3, 0), u(4, 7, 4, 0)}},
	})
}

// cronDSTCase is a Cron job started at start on the fake clock, and the
// times it must run at, in order.
type cronDSTCase struct {
	name  string
	start time.Time
	spec  string
	want  []time.Time
}

// cronDSTCases runs each case with a Cron timer that register makes:
// every call at its wanted time, none in between or after, no skip.
func cronDSTCases(t *testing.T, register func(s *timed, spec string, fn func(context.Context) error) error, cases []cronDSTCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := clock.NewFake(c.start)
			cl := newCalls()
			s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
				return register(s, c.spec, cl.fn(fake))
			})
			for _, want := range c.want {
				stepTo(t, fake, want)
				if at := cl.next(t); !at.Equal(want) {
					t.Fatalf("call at %v, want %v", at, want)
				}
			}
			armed(t, fake, 1)
			cl.none(t)
			if st := onlyTimer(t, s); st.Runs != int64(len(c.want)) || st.Skipped != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
