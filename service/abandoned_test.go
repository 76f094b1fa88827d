package service_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
)

// Abandoned lists what a Stop and CheckHealth gave up on while it runs,
// telling the two apart, with how long ago.
func TestAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := make(chan struct{})
		p := hushed(&probed{check: func(context.Context) error { <-gate; return nil }})
		cfg := p.Config()
		cfg.StopTimeout = time.Second
		p.Configure(cfg)
		if err := service.Start(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		if got := service.Abandoned(p); got != nil {
			t.Fatalf("before anything was abandoned: %+v", got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := service.CheckHealth(ctx, p); err == nil {
			t.Fatal("CheckHealth of a hung Healthcheck passed")
		}
		cancel()
		if err := p.Go("stuck", func(context.Context) error { <-gate; return nil }); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if err := p.Stop(context.Background()); err == nil {
			t.Fatal("Stop with a stuck task passed")
		}
		got := service.Abandoned(p)
		if len(got) != 2 {
			t.Fatalf("Abandoned: %+v, want the Healthcheck and the task", got)
		}
		probe, task := got[0], got[1]
		if !probe.Probe || !strings.Contains(probe.What, "Healthcheck (CheckHealth)") || probe.For < time.Minute {
			t.Errorf("the Healthcheck: %+v", probe)
		}
		// The task was abandoned by the Stop just now (which then gave the
		// Healthcheck, abandoned earlier, a short grace to return).
		if task.Probe || !strings.Contains(task.What, `task "stuck"`) || task.For >= time.Second || !task.Since.After(probe.Since) {
			t.Errorf("the task: %+v", task)
		}
		close(gate)
		synctest.Wait()
		if got := service.Abandoned(p); got != nil {
			t.Errorf("after they returned: %+v", got)
		}
		if got := service.Abandoned(nil); got != nil {
			t.Errorf("nil service: %+v", got)
		}
	})
}

// The tasks a Stop left of one run are one AbandonedCall naming them all,
// which lasts until the last of them returns.
func TestAbandonedTasksOfOneRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gateA, gateB := make(chan struct{}), make(chan struct{})
		p := hushed(&probed{})
		cfg := p.Config()
		cfg.StopTimeout = time.Second
		p.Configure(cfg)
		if err := service.Start(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		for name, gate := range map[string]chan struct{}{"a": gateA, "b": gateB} {
			if err := p.Go(name, func(context.Context) error { <-gate; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Stop(context.Background()); err == nil {
			t.Fatal("Stop with two stuck tasks passed")
		}
		got := service.Abandoned(p)
		if len(got) != 1 || !strings.Contains(got[0].What, `task "a"`) || !strings.Contains(got[0].What, `task "b"`) {
			t.Fatalf("Abandoned: %+v, want one call naming both tasks", got)
		}
		close(gateA)
		synctest.Wait()
		if got := service.Abandoned(p); len(got) != 1 {
			t.Errorf("with task b still running: %+v", got)
		}
		close(gateB)
		synctest.Wait()
		if got := service.Abandoned(p); got != nil {
			t.Errorf("after both returned: %+v", got)
		}
	})
}
