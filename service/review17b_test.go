package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

var r17bQuiet = zerolog.Nop()

// r17bNode is a service whose hooks are function fields (nil: no-op).
type r17bNode struct {
	service.Base
	onStart, onStop, onShutdown func(ctx context.Context) error
}

func newR17bNode(name string) *r17bNode {
	n := &r17bNode{}
	n.Configure(service.Config{Name: name, Logger: &r17bQuiet})
	return n
}

func (n *r17bNode) OnStart(ctx context.Context) error {
	if n.onStart != nil {
		return n.onStart(ctx)
	}
	return nil
}

func (n *r17bNode) OnStop(ctx context.Context) error {
	if n.onStop != nil {
		return n.onStop(ctx)
	}
	return nil
}

func (n *r17bNode) OnShutdown(ctx context.Context) error {
	if n.onShutdown != nil {
		return n.onShutdown(ctx)
	}
	return nil
}

func r17bCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestReview17bChildRestartDuringParentStop: a child restarted (by anyone:
// an admin call, the parent's own later stop step) after its parent's
// Stop has stopped it must not outlive that Stop: once the parent's Stop
// has returned, nothing of its subtree runs. The Restart either fails or
// its run is stopped with the parent.
func TestReview17bChildRestartDuringParentStop(t *testing.T) {
	for _, from := range []string{"other goroutine", "OnShutdown", "after Stop"} {
		t.Run(from, func(t *testing.T) {
			ctx := r17bCtx(t)
			p, k := newR17bNode("p"), newR17bNode("k")
			if err := p.AddDependency(k); err != nil {
				t.Fatal(err)
			}
			restarted := make(chan error, 1)
			switch from {
			case "other goroutine":
				entered, release := make(chan struct{}), make(chan struct{})
				p.onShutdown = func(context.Context) error { close(entered); <-release; return nil }
				go func() {
					<-entered // p's children are stopped; p is not done yet
					restarted <- k.Restart(context.Background())
					close(release)
				}()
			case "OnShutdown":
				p.onShutdown = func(ctx context.Context) error {
					restarted <- k.Restart(ctx)
					return nil
				}
			}
			if err := service.Start(ctx, p); err != nil {
				t.Fatal(err)
			}
			if err := p.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if from == "after Stop" {
				restarted <- k.Restart(ctx)
			}
			rerr := <-restarted
			if rerr == nil || !errors.Is(rerr, service.ErrStopping) {
				t.Errorf("k.Restart = %v, want ErrStopping", rerr)
			}
			t.Logf("k.Restart: %v", rerr)
			if st := k.State(); st == service.Running || st == service.Starting {
				t.Errorf("k %v after its parent's Stop returned (Restart returned %v)", st, rerr)
				_ = k.Stop(context.Background())
			}
		})
	}
}
