package service_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// epoch is where the fake clocks of the time tests start.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// timed is a service whose OnStart is given by the test.
type timed struct {
	service.Base
	onStart func(ctx context.Context, s *timed) error
}

func (s *timed) OnStart(ctx context.Context) error {
	if s.onStart != nil {
		return s.onStart(ctx, s)
	}
	return nil
}

// logBuf is a logger sink safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// timeCtx bounds a time test.
func timeCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startTimed starts a timed service on the fake clock; the service is
// stopped at the end of the test.
func startTimed(t *testing.T, fake *clock.Fake, cfg service.Config, onStart func(context.Context, *timed) error) (*timed, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	lg := zerolog.New(logs)
	cfg.Clock, cfg.Logger = fake, &lg
	if cfg.Name == "" {
		cfg.Name = "timed"
	}
	s := &timed{onStart: onStart}
	s.Configure(cfg)
	if err := service.Start(timeCtx(t), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s, logs
}

// calls records the fake time of each call of a timer function.
type calls chan time.Time

func newCalls() calls { return make(calls, 1000) }

func (c calls) fn(fake *clock.Fake) func(context.Context) error {
	return func(context.Context) error {
		c <- fake.Now()
		return nil
	}
}

// next waits for a call and returns its time.
func (c calls) next(t *testing.T) time.Time {
	t.Helper()
	select {
	case at := <-c:
		return at
	case <-time.After(10 * time.Second):
		t.Fatal("timer function not called")
		return time.Time{}
	}
}

// none checks that no call is recorded.
func (c calls) none(t *testing.T) {
	t.Helper()
	select {
	case at := <-c:
		t.Fatalf("unexpected call at %v", at)
	default:
	}
}

// armed waits until n timers of fake are pending: the loops have gone back
// to sleep, so their last calls have returned.
func armed(t *testing.T, fake *clock.Fake, n int) {
	t.Helper()
	if err := fake.BlockUntil(timeCtx(t), n); err != nil {
		t.Fatalf("waiting for %d armed timers: %v", n, err)
	}
}

func wantDeadline(t *testing.T, fake *clock.Fake, want time.Time) {
	t.Helper()
	if got, ok := fake.NextDeadline(); !ok || !got.Equal(want) {
		t.Fatalf("next deadline %v (%v), want %v", got, ok, want)
	}
}

func onlyTimer(t *testing.T, s *timed) service.TimerStats {
	t.Helper()
	ts := s.Timers()
	if len(ts) != 1 {
		t.Fatalf("Timers() = %+v, want one", ts)
	}
	return ts[0]
}

func TestEveryExecFirst(t *testing.T) {
	for _, first := range []bool{false, true} {
		c := newCalls()
		var opts []service.TimerOption
		if first {
			opts = append(opts, service.ExecFirst())
		}
		fake := clock.NewFake(epoch)
		startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
			return s.Every(time.Second, c.fn(fake), opts...)
		})
		if first {
			if at := c.next(t); !at.Equal(epoch) {
				t.Fatalf("exec_first call at %v, want %v", at, epoch)
			}
		}
		armed(t, fake, 1)
		c.none(t)
		wantDeadline(t, fake, epoch.Add(time.Second))
		fake.Advance(time.Second)
		if at := c.next(t); !at.Equal(epoch.Add(time.Second)) {
			t.Fatalf("first slot call at %v", at)
		}
	}
}

func TestEveryDriftAfterLateWake(t *testing.T) {
	c := newCalls()
	fake := clock.NewFake(epoch)
	s, logs := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Every(time.Second, c.fn(fake), service.Named("tick"))
	})
	armed(t, fake, 1)
	fake.Advance(1500 * time.Millisecond) // 500ms late > max drift 300ms
	c.next(t)
	armed(t, fake, 1)
	wantDeadline(t, fake, epoch.Add(2*time.Second)) // sleeps only to the next slot
	if st := onlyTimer(t, s); st.Drifts != 1 || st.Skipped != 0 || st.Runs != 1 {
		t.Fatalf("stats %+v, want 1 drift, 0 skipped, 1 run", st)
	}
	if !strings.Contains(logs.String(), "too late") || !strings.Contains(logs.String(), `"drift":"500ms"`) {
		t.Errorf("no drift log with drift=500ms: %s", logs)
	}
	fake.Advance(700 * time.Millisecond) // 200ms late: within the max drift
	if at := c.next(t); !at.Equal(epoch.Add(2200 * time.Millisecond)) {
		t.Fatalf("second call at %v", at)
	}
	armed(t, fake, 1)
	wantDeadline(t, fake, epoch.Add(3*time.Second))
	if st := onlyTimer(t, s); st.Drifts != 1 || st.Runs != 2 {
		t.Fatalf("stats %+v, want still 1 drift, 2 runs", st)
	}
}

func TestEveryOverlapCountedAndWarned(t *testing.T) {
	c := newCalls()
	fake := clock.NewFake(epoch)
	var n atomic.Int32
	s, logs := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Every(time.Second, func(ctx context.Context) error {
			c <- fake.Now()
			if n.Add(1) == 1 {
				fake.Advance(1500 * time.Millisecond) // this run takes 1.5 intervals
			}
			return nil
		})
	})
	armed(t, fake, 1)
	fake.Advance(time.Second)
	if at := c.next(t); !at.Equal(epoch.Add(time.Second)) {
		t.Fatalf("first call at %v", at)
	}
	// Slot 2 (2s) passed during the run: served at once, at 2.5s; no burst.
	if at := c.next(t); !at.Equal(epoch.Add(2500 * time.Millisecond)) {
		t.Fatalf("second call at %v", at)
	}
	armed(t, fake, 1)
	c.none(t)
	wantDeadline(t, fake, epoch.Add(3*time.Second))
	if st := onlyTimer(t, s); st.Overlaps != 1 || st.Runs != 2 {
		t.Fatalf("stats %+v, want 1 overlap, 2 runs", st)
	}
	if !strings.Contains(logs.String(), "overlapping") {
		t.Errorf("no overlap warning: %s", logs)
	}
}

func TestEveryNoBurstAfterStall(t *testing.T) {
	c := newCalls()
	fake := clock.NewFake(epoch)
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Every(time.Second, c.fn(fake))
	})
	armed(t, fake, 1)
	fake.Advance(10 * time.Second) // a 10× stall
	if at := c.next(t); !at.Equal(epoch.Add(10 * time.Second)) {
		t.Fatalf("call at %v", at)
	}
	armed(t, fake, 1)
	c.none(t) // one call, not ten
	wantDeadline(t, fake, epoch.Add(11*time.Second))
	if st := onlyTimer(t, s); st.Skipped != 9 || st.Runs != 1 {
		t.Fatalf("stats %+v, want 9 skipped, 1 run", st)
	}
}

func TestEveryStopDuringTick(t *testing.T) {
	entered := make(chan struct{}, 10)
	fake := clock.NewFake(epoch)
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Every(time.Second, func(ctx context.Context) error {
			entered <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}, service.Named("committing"))
	})
	armed(t, fake, 1)
	fake.Advance(time.Second)
	<-entered
	if !s.Diag().Has("committing") {
		t.Fatalf("diag flags %q, want committing", s.Diag().Flags())
	}
	if err := s.Stop(timeCtx(t)); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if st := s.State(); st != service.Shutdown {
		t.Fatalf("state %s", st)
	}
	if s.Diag().Has("committing") {
		t.Fatal("diag flag left set after the run")
	}
	fake.Advance(time.Minute)
	if len(entered) != 0 {
		t.Fatal("timer ran after Stop")
	}
}

func TestEveryWorkers(t *testing.T) {
	const n = 3
	var inside atomic.Int32
	all := make(chan struct{})
	c := newCalls()
	fake := clock.NewFake(epoch)
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Every(time.Second, func(ctx context.Context) error {
			if inside.Add(1) == n {
				close(all)
			}
			select { // every worker waits until all n are inside: they are concurrent
			case <-all:
			case <-ctx.Done():
				return ctx.Err()
			}
			return c.fn(fake)(ctx)
		}, service.Workers(n), service.ExecFirst(), service.Named("pool"))
	})
	for range n {
		c.next(t)
	}
	armed(t, fake, n)
	fake.Advance(time.Second)
	for range n {
		if at := c.next(t); !at.Equal(epoch.Add(time.Second)) {
			t.Fatalf("worker call at %v", at)
		}
	}
	armed(t, fake, n)
	c.none(t)
	if st := onlyTimer(t, s); st.Workers != n || st.Runs != 2*n || st.Name != "pool" {
		t.Fatalf("stats %+v", st)
	}
}

func TestEveryContinueOnError(t *testing.T) {
	var n atomic.Int32
	fake := clock.NewFake(epoch)
	s, logs := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Every(time.Second, func(ctx context.Context) error {
			switch n.Add(1) {
			case 1:
				return errBoomTimer
			case 2:
				panic("kaboom")
			}
			return nil
		}, service.ContinueOnError())
	})
	for range 3 {
		armed(t, fake, 1)
		fake.Advance(time.Second)
	}
	armed(t, fake, 1)
	if st := onlyTimer(t, s); st.Runs != 3 || st.Failures != 2 {
		t.Fatalf("stats %+v, want 3 runs, 2 failures", st)
	}
	if st := s.State(); st != service.Running {
		t.Fatalf("state %s, want Running", st)
	}
	if l := logs.String(); !strings.Contains(l, "boom") || !strings.Contains(l, "kaboom") {
		t.Errorf("failures not logged: %s", l)
	}
}

var errBoomTimer = errors.New("timer boom")

func TestEveryFailureCrashes(t *testing.T) {
	for name, fn := range map[string]func(context.Context) error{
		"error": func(context.Context) error { return errBoomTimer },
		"panic": func(context.Context) error { panic(errBoomTimer) },
	} {
		t.Run(name, func(t *testing.T) {
			fake := clock.NewFake(epoch)
			s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
				return s.Every(time.Second, fn, service.Named("job"))
			})
			armed(t, fake, 1)
			fake.Advance(time.Second)
			err := s.WaitUntilStopped(timeCtx(t))
			if !errors.Is(err, errBoomTimer) || !strings.Contains(err.Error(), "job") {
				t.Fatalf("crash reason %v, want timer boom naming the job", err)
			}
			if name == "panic" && !errors.Is(err, service.ErrPanic) {
				t.Fatalf("crash reason %v, want ErrPanic", err)
			}
			if st := s.State(); st != service.Crashed {
				t.Fatalf("state %s", st)
			}
			if st := onlyTimer(t, s); st.Failures != 1 {
				t.Fatalf("stats %+v, want 1 failure", st)
			}
		})
	}
}

var timeQuiet = zerolog.Nop()
