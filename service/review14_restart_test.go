package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// cfgProbe records, per hook, the label and the ctx's time left it saw.
type cfgProbe struct {
	service.Base
	mu     sync.Mutex
	seen   map[string][]string
	left   map[string]time.Duration
	onStop func(p *cfgProbe)
	task   bool
}

func (p *cfgProbe) note(hook string, ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen == nil {
		p.seen, p.left = map[string][]string{}, map[string]time.Duration{}
	}
	p.seen[hook] = append(p.seen[hook], p.Label())
	if dl, ok := ctx.Deadline(); ok {
		p.left[hook] = time.Until(dl)
	} else {
		p.left[hook] = -1
	}
}

func (p *cfgProbe) last(hook string) (string, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.seen[hook]
	if len(s) == 0 {
		return "", 0
	}
	return s[len(s)-1], p.left[hook]
}

func (p *cfgProbe) OnStart(ctx context.Context) error {
	p.note("OnStart", ctx)
	if p.task {
		return p.Go("t", func(ctx context.Context) error { <-ctx.Done(); return nil })
	}
	return nil
}

func (p *cfgProbe) OnStop(ctx context.Context) error {
	p.note("OnStop", ctx)
	if p.onStop != nil {
		p.onStop(p)
	}
	return nil
}

func (p *cfgProbe) OnRestart(ctx context.Context) error {
	p.note("OnRestart", ctx)
	return nil
}

// TestReview14RestartConfig: a restart's stop half now hands its Config
// (taken when the restart began) to the reset, and a restart from
// Shutdown reads the Config of the moment. A Configure during the stop
// half takes effect at the start half (name) and at the next stop
// (StopTimeout); a Configure while in Shutdown bounds the OnRestart of a
// Restart from there; a Restart from inside a task finishes on its own
// goroutine with the same view.
func TestReview14RestartConfig(t *testing.T) {
	near := func(got, want time.Duration) bool { return got > want-time.Second && got <= want }
	t.Run("configure during stop half", func(t *testing.T) {
		ctx := bg(t)
		p := &cfgProbe{task: true}
		p.Configure(service.Config{Name: "a", Logger: &quiet, StopTimeout: 10 * time.Second})
		once := sync.Once{}
		p.onStop = func(p *cfgProbe) {
			once.Do(func() { p.Configure(service.Config{Name: "b", Logger: &quiet, StopTimeout: 12 * time.Second}) })
		}
		must(t, service.Start(ctx, p))
		must(t, p.Restart(ctx))
		if l, left := p.last("OnStop"); l != "cfgProbe(a)" || !near(left, 10*time.Second) {
			t.Errorf("stop half's OnStop saw %q, %v left", l, left)
		}
		if l, left := p.last("OnRestart"); l != "cfgProbe(b)" || left > 10*time.Second || left <= 0 {
			t.Errorf("OnRestart saw %q, %v left (want the configuration the restart began with)", l, left)
		}
		if l, _ := p.last("OnStart"); l != "cfgProbe(b)" {
			t.Errorf("start half's OnStart saw %q", l)
		}
		must(t, p.Stop(ctx))
		if l, left := p.last("OnStop"); l != "cfgProbe(b)" || !near(left, 12*time.Second) {
			t.Errorf("next OnStop saw %q, %v left", l, left)
		}
	})
	t.Run("restart from shutdown", func(t *testing.T) {
		ctx := bg(t)
		p := &cfgProbe{task: true}
		p.Configure(service.Config{Name: "a", Logger: &quiet, StopTimeout: 10 * time.Second})
		must(t, service.Start(ctx, p))
		must(t, p.Stop(ctx))
		p.Configure(service.Config{Name: "c", Logger: &quiet, StopTimeout: 15 * time.Second})
		must(t, p.Restart(ctx))
		if p.State() != service.Running || p.RestartCount() != 1 {
			t.Fatalf("state %v, restarts %d", p.State(), p.RestartCount())
		}
		if l, left := p.last("OnRestart"); l != "cfgProbe(c)" || !near(left, 15*time.Second) {
			t.Errorf("OnRestart saw %q, %v left", l, left)
		}
		must(t, p.Stop(ctx))
	})
	t.Run("restart from inside a task", func(t *testing.T) {
		ctx := bg(t)
		p := &cfgProbe{}
		p.Configure(service.Config{Name: "a", Logger: &quiet, StopTimeout: 10 * time.Second})
		must(t, service.Start(ctx, p))
		errc := make(chan error, 1)
		must(t, p.Go("restarter", func(ctx context.Context) error {
			errc <- p.Restart(ctx)
			<-ctx.Done()
			return nil
		}))
		must(t, <-errc)
		deadline := time.Now().Add(5 * time.Second)
		for (p.RestartCount() != 1 || p.State() != service.Running) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if p.RestartCount() != 1 || p.State() != service.Running {
			t.Fatalf("state %v, restarts %d", p.State(), p.RestartCount())
		}
		if l, left := p.last("OnRestart"); l != "cfgProbe(a)" || !near(left, 10*time.Second) {
			t.Errorf("OnRestart saw %q, %v left", l, left)
		}
		must(t, p.Stop(ctx))
	})
}
