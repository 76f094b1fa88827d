package supervisor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestWatchRestartsHungChild: a supervised Func whose watched loop hangs
// crashes with ErrHung naming the loop, and its supervisor restarts it;
// the fresh run is watched again.
func TestWatchRestartsHungChild(t *testing.T) {
	ctx := bg(t)
	fake := clock.NewFake(time.Unix(0, 0))
	ev := newEvents()
	s := newSup(supervisor.Spec{Service: service.Config{Name: "workers"}}, ev)
	watching := make(chan *service.Watchdog, 2)
	f := service.Func("consumer", func(ctx context.Context) error {
		w, err := service.Watch(ctx, "consume", 5*time.Second)
		if err != nil {
			return err
		}
		defer w.Stop()
		watching <- w
		<-ctx.Done() // hangs, as far as the watchdog knows
		return nil
	})
	f.Configure(service.Config{Clock: fake, Logger: &quiet})
	must(t, s.Add(ctx, f))
	must(t, service.Start(ctx, s))
	defer func() { must(t, s.Stop(ctx)) }()

	for run := 1; run <= 2; run++ {
		<-watching
		if err := fake.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		fake.Advance(5 * time.Second)
		crash := ev.wait(t, supervisor.ChildCrashed, "consumer", run)[run-1]
		if !errors.Is(crash.Reason, service.ErrHung) || !strings.Contains(crash.Reason.Error(), `task "consume": no heartbeat for 5s`) {
			t.Fatalf("run %d: crash reason %v", run, crash.Reason)
		}
		ev.wait(t, supervisor.ChildRestarted, "consumer", run)
	}
	<-watching
	if n := f.RestartCount(); n != 2 {
		t.Fatalf("restart count %d, want 2", n)
	}
}
