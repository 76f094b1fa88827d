package supervisor_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// TestDumpInfo follows a supervisor's dump lines on a fake clock: the
// restarts its window holds, a backoff restart counting down, the window
// sliding.
func TestDumpInfo(t *testing.T) {
	ctx := bg(t)
	clk := clock.NewFake(time.Unix(0, 0))
	ev := newEvents()
	s := newSup(supervisor.Spec{
		Service:     service.Config{Name: "workers", Clock: clk},
		Strategy:    strategy.RestForOne,
		MaxRestarts: 3,
		Window:      5 * time.Second,
		Backoff:     strategy.Backoff{Min: 1200 * time.Millisecond, Max: 10 * time.Second, NoJitter: true},
	}, ev)
	pool, cache := newWorker("pool"), newWorker("cache")
	must(t, s.Add(ctx, pool))
	must(t, s.Add(ctx, cache))
	must(t, service.Start(ctx, s))
	defer func() { must(t, s.Stop(ctx)) }()

	const head = "Supervisor(workers) [running]\n"
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"started", func() {}, head +
			"│ strategy rest_for_one, restarts 0 of 3 in 5s\n" +
			"├── worker(pool) [running] hooks=OnStart,OnStop\n" +
			"└── worker(cache) [running] hooks=OnStart,OnStop\n"},
		{"pool crashed: backoff", func() {
			pool.Crash(errBoom)
			ev.wait(t, supervisor.BackoffStarted, "cache", 1)
		}, head +
			"│ strategy rest_for_one, restarts 1 of 3 in 5s\n" +
			"│ child pool: restart due in 1.2s\n" +
			"│ child cache: restart due in 1.2s\n" +
			"├── worker(pool) [shutdown] hooks=OnStart,OnStop reason=\"boom\"\n" +
			"└── worker(cache) [shutdown] hooks=OnStart,OnStop\n"},
		{"time passes", func() { clk.Advance(750 * time.Millisecond) }, head +
			"│ strategy rest_for_one, restarts 1 of 3 in 5s\n" +
			"│ child pool: restart due in 450ms\n" +
			"│ child cache: restart due in 450ms\n" +
			"├── worker(pool) [shutdown] hooks=OnStart,OnStop reason=\"boom\"\n" +
			"└── worker(cache) [shutdown] hooks=OnStart,OnStop\n"},
		{"restarted", func() {
			clk.Advance(450 * time.Millisecond)
			ev.wait(t, supervisor.ChildRestarted, "cache", 1)
		}, head +
			"│ strategy rest_for_one, restarts 1 of 3 in 5s\n" +
			"├── worker(pool) [running] restarts=1 hooks=OnStart,OnStop\n" +
			"└── worker(cache) [running] restarts=1 hooks=OnStart,OnStop\n"},
		{"window slid", func() { clk.Advance(5 * time.Second) }, head +
			"│ strategy rest_for_one, restarts 0 of 3 in 5s\n" +
			"├── worker(pool) [running] restarts=1 hooks=OnStart,OnStop\n" +
			"└── worker(cache) [running] restarts=1 hooks=OnStart,OnStop\n"},
	}
	for _, st := range steps {
		st.do()
		if got := service.Dump(s); got != st.want {
			t.Fatalf("%s: Dump:\n%s\nwant:\n%s", st.name, got, st.want)
		}
	}
}

func TestDumpInfoSpecs(t *testing.T) {
	tests := []struct {
		name string
		spec supervisor.Spec
		want []string
	}{
		{"zero", supervisor.Spec{}, []string{"strategy one_for_one, restarts 0 of 3 in 5s"}},
		{"never", supervisor.Spec{Strategy: strategy.OneForAll, NeverRestart: true}, []string{"strategy one_for_all, never restarts"}},
		{"limits", supervisor.Spec{MaxRestarts: 10, Window: 90 * time.Second, MaxChildren: 4},
			[]string{"strategy one_for_one, restarts 0 of 10 in 1m30s", "children 0 of at most 4"}},
	}
	for _, tt := range tests {
		s := newSup(tt.spec, nil)
		if got := s.DumpInfo(); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: DumpInfo %q, want %q", tt.name, got, tt.want)
		}
		var zero supervisor.Supervisor
		if got := zero.DumpInfo(); len(got) != 1 || got[0] != "strategy one_for_one, restarts 0 of 3 in 5s" {
			t.Errorf("zero supervisor: DumpInfo %q", got)
		}
	}
}

// hangingStop is a worker whose OnStop tells entered and waits for
// release, ignoring its ctx.
type hangingStop struct {
	worker
	entered chan struct{}
	release chan struct{}
}

func (h *hangingStop) OnStop(context.Context) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-h.release
	return nil
}

// TestDumpWhileHung dumps a tree whose supervisor's goroutine hangs in a
// child's OnStop: the dump answers at once.
func TestDumpWhileHung(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{Service: service.Config{Name: "workers"}, ShutdownTimeout: time.Minute}, ev)
	h := &hangingStop{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h.Configure(service.Config{Name: "stuck", Logger: &quiet})
	must(t, s.Add(ctx, h))
	must(t, service.Start(ctx, s))
	defer func() { must(t, s.Stop(ctx)) }()
	defer close(h.release)
	h.Crash(errBoom)
	<-h.entered
	done := make(chan string)
	go func() { done <- service.Dump(s) }()
	select {
	case got := <-done:
		for _, w := range []string{"strategy one_for_one, restarts 1 of 3 in 5s", `hangingStop(stuck) [stopping]`, `reason="boom"`} {
			if !strings.Contains(got, w) {
				t.Errorf("dump lacks %q:\n%s", w, got)
			}
		}
	case <-ctx.Done():
		t.Fatal("Dump blocked while the supervisor's goroutine hangs")
	}
}
