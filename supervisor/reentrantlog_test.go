package supervisor_test

import (
	"context"
	"errors"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// reentrantWriter is a logger's output that, on every line, reads the
// tree through its public API (Dump, Children, DumpInfo, CheckHealth,
// labels): a line written while the library holds one of the locks those
// take deadlocks.
type reentrantWriter struct {
	sup   atomic.Pointer[supervisor.Supervisor]
	lines atomic.Int64
}

func (w *reentrantWriter) Write(p []byte) (int, error) {
	w.lines.Add(1)
	s := w.sup.Load()
	if s == nil {
		return len(p), nil
	}
	_ = service.Dump(s)
	_ = s.DumpInfo()
	_ = s.Label()
	for _, c := range s.Children() {
		if svc := s.Child(c.ID); svc != nil {
			_ = service.CheckHealth(context.Background(), svc)
			_ = svc.Label()
			_ = service.Dump(svc)
		}
	}
	return len(p), nil
}

// rlTimed is a child with a timer, a watched task and a healthcheck,
// logging through the logger it inherits.
type rlTimed struct{ service.Base }

func (r *rlTimed) OnStart(ctx context.Context) error {
	if err := r.Every(time.Millisecond, func(ctx context.Context) error {
		r.Log().Debug().Msg("tick")
		return errors.New("tick failed")
	}, service.ContinueOnError(), service.FixedDelay()); err != nil {
		return err
	}
	return r.Go("watched", func(ctx context.Context) error {
		w, err := service.Watch(ctx, "watched", time.Hour)
		if errors.Is(err, service.ErrStopping) {
			return nil // stopped (terminated) before the task got this far
		}
		if err != nil {
			return err
		}
		defer w.Stop()
		<-ctx.Done()
		return nil
	})
}

func (r *rlTimed) Healthcheck(context.Context) error { return nil }

// TestNoLockHeldWhileLogging runs a tree through its lifecycle (start,
// crashes with backoff, a timer failing, a hand restart, remove, add,
// a reconfigure, stop) with a logger at trace level whose writer calls
// back into the tree on every line. No lock may be held while a line is
// written: the writer is user code.
func TestNoLockHeldWhileLogging(t *testing.T) {
	out := &reentrantWriter{}
	l := zerolog.New(out).Level(zerolog.TraceLevel)
	ev := newEvents()
	s := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "sup", Logger: &l},
		Strategy:    strategy.OneForAll,
		MaxRestarts: 1000,
		Window:      time.Minute,
		Backoff:     strategy.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond, NoJitter: true},
		OnEvent:     func(e supervisor.Event) { _, _ = out.Write(nil); ev.hook(e) }, // OnEvent reads the tree too
	})
	out.sup.Store(s)
	crash := make(chan struct{})
	crasher := service.Func("crasher", func(ctx context.Context) error {
		select {
		case <-crash:
			return errBoom
		case <-ctx.Done():
			return nil
		}
	})
	timed := &rlTimed{}
	timed.Configure(service.Config{Name: "timed"})

	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		must(t, s.Add(ctx, crasher))
		must(t, s.Add(ctx, timed))
		must(t, service.Start(ctx, s))
		for i := range 3 {
			crash <- struct{}{}
			ev.wait(t, supervisor.ChildRestarted, "crasher", i+1)
		}
		must(t, s.Terminate(ctx, "timed"))
		must(t, s.RestartChild(ctx, "timed"))
		other := &rlTimed{}
		other.Configure(service.Config{Name: "other"})
		must(t, s.Add(ctx, other))
		timed.Configure(service.Config{Name: "timed"})
		must(t, s.Remove(ctx, other))
		must(t, s.Stop(ctx))
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatal("deadlocked: a lock is held while a log line is written")
	}
	if out.lines.Load() == 0 {
		t.Fatal("no line logged")
	}
}

// rlFlaky panics in a task, hangs a watched task, fails its healthcheck
// and misses its heartbeat, by turns, each crash logged with its reason.
type rlFlaky struct {
	service.Base
	turn atomic.Int64
}

func (r *rlFlaky) OnStart(ctx context.Context) error {
	switch r.turn.Add(1) % 4 {
	case 0:
		return r.Go("panics", func(context.Context) error { panic("flaky panic") })
	case 1:
		return r.Go("hangs", func(ctx context.Context) error {
			w, err := service.Watch(ctx, "hangs", time.Millisecond)
			if err != nil {
				return err
			}
			defer w.Stop()
			<-ctx.Done()
			return nil
		})
	}
	return nil
}

func (r *rlFlaky) Healthcheck(context.Context) error {
	if r.turn.Load()%4 == 2 {
		return errors.New("unhealthy")
	}
	return nil
}

// TestNoLockHeldWhileLoggingCrashes: as TestNoLockHeldWhileLogging, through
// panics (logged with their stack), hung watchdogs, failed healthchecks
// and missed heartbeats, each restarted by the supervisor.
func TestNoLockHeldWhileLoggingCrashes(t *testing.T) {
	out := &reentrantWriter{}
	l := zerolog.New(out).Level(zerolog.TraceLevel)
	ev := newEvents()
	s := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "sup", Logger: &l},
		MaxRestarts: 1000,
		Window:      time.Minute,
		OnEvent:     func(e supervisor.Event) { _, _ = out.Write(nil); ev.hook(e) }, // OnEvent reads the tree too
	})
	out.sup.Store(s)
	f := &rlFlaky{}
	f.Configure(service.Config{Name: "flaky", MonitoringInterval: time.Millisecond, HeartbeatDeadline: 5 * time.Millisecond})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		must(t, s.Add(ctx, f))
		must(t, service.Start(ctx, s))
		ev.wait(t, supervisor.ChildRestarted, "flaky", 8)
		must(t, s.Stop(ctx))
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatal("deadlocked: a lock is held while a log line is written")
	}
}
