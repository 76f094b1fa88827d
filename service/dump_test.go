package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

func TestDump(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)
	must(t, service.Start(ctx, root))
	must(t, all[1].Restart(ctx))
	all[2].Diag().Set("committing")
	const hooks = " hooks=OnFirstStart,OnStart,OnStarted,OnStop,OnShutdown,OnRestart"
	want := "probe(root) [running]" + hooks + "\n" +
		"├── probe(a) [running] restarts=1" + hooks + "\n" +
		"│   ├── probe(a1) [running] restarts=1" + hooks + " flags=committing\n" +
		"│   └── probe(a2) [running] restarts=1" + hooks + "\n" +
		"└── probe(b) [running]" + hooks + "\n" +
		"    └── probe(b1) [running]" + hooks + "\n"
	if got := service.Dump(root); got != want {
		t.Fatalf("Dump:\n%s\nwant:\n%s", got, want)
	}
	must(t, root.Stop(ctx))
	if service.Dump(nil) != "" {
		t.Fatal("Dump(nil) not empty")
	}
}

// dumped is a service whose Dumper lines are given by the test.
type dumped struct {
	timed
	info func() []string
}

func (d *dumped) DumpInfo() []string { return d.info() }

var _ service.Dumper = (*dumped)(nil)

// TestDumpDetails checks the lines under a service, step by step on a
// fake clock: tasks, timers with their counters, watchdogs, heartbeat,
// the service's own lines, a crash.
func TestDumpDetails(t *testing.T) {
	fake := clock.NewFake(epoch)
	watching := make(chan *service.Watchdog, 2)
	ticks := newCalls()
	s := &dumped{info: func() []string { return []string{"own line", "two\nlines"} }}
	s.Configure(service.Config{Name: "app", Clock: fake, Logger: &timeQuiet, HeartbeatDeadline: 10 * time.Second})
	s.onStart = func(context.Context, *timed) error {
		for _, name := range []string{"fetch", "fetch", "consume", "work"} {
			must(t, s.Go(name, func(ctx context.Context) error {
				if name == "fetch" {
					<-ctx.Done()
					return nil
				}
				w, err := service.Watch(ctx, name, 5*time.Second)
				if err != nil {
					return err
				}
				defer w.Stop()
				watching <- w
				<-ctx.Done()
				return nil
			}))
		}
		return s.Every(time.Second, ticks.fn(fake), service.Named("tick"))
	}
	must(t, service.Start(timeCtx(t), s))
	defer func() { _ = s.Stop(context.Background()) }()
	ws := map[string]*service.Watchdog{}
	for range 2 {
		w := <-watching
		ws[w.Name()] = w
	}
	ws["consume"].Idle()
	armed(t, fake, 4) // tick, heartbeat and two watchdogs

	head := "dumped(app) [running] hooks=OnStart\n"
	tasks := "  tasks (8): consume, fetch ×2, monitor: heartbeat, tick, watch: consume, watch: work, work\n"
	steps := []struct {
		name string
		do   func()
		want string
	}{
		{"started", func() {}, head + tasks +
			"  timer \"tick\": runs=0 skips=0 overlaps=0\n" +
			"  heartbeat: last beat 0s ago (deadline 10s)\n" +
			"  watch \"consume\": idle (deadline 5s)\n" +
			"  watch \"work\": last beat 0s ago (deadline 5s)\n" +
			"  own line\n  two\\nlines\n"},
		{"a tick, beats", func() {
			fake.Advance(1500 * time.Millisecond)
			ticks.next(t)
			armed(t, fake, 4)
			ws["work"].Beat()
			s.Heartbeat()
			fake.Advance(1200 * time.Millisecond)
			ticks.next(t)
			armed(t, fake, 4)
			s.Diag().Set("committing")
		}, "dumped(app) [running] hooks=OnStart flags=committing\n" + tasks +
			"  timer \"tick\": runs=2 skips=0 overlaps=0 drifts=2\n" +
			"  heartbeat: last beat 1.2s ago (deadline 10s)\n" +
			"  watch \"consume\": idle (deadline 5s)\n" +
			"  watch \"work\": last beat 1.2s ago (deadline 5s)\n" +
			"  own line\n  two\\nlines\n"},
		{"DumpInfo panics", func() {
			s.Diag().Unset("committing")
			s.info = func() []string { panic("oops") }
		}, head + tasks +
			"  timer \"tick\": runs=2 skips=0 overlaps=0 drifts=2\n" +
			"  heartbeat: last beat 1.2s ago (deadline 10s)\n" +
			"  watch \"consume\": idle (deadline 5s)\n" +
			"  watch \"work\": last beat 1.2s ago (deadline 5s)\n" +
			"  DumpInfo panicked: oops\n"},
	}
	for _, st := range steps {
		st.do()
		if got := service.Dump(s); got != st.want {
			t.Fatalf("%s: Dump:\n%s\nwant:\n%s", st.name, got, st.want)
		}
	}
}
