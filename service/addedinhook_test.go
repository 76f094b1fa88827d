package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// hookAdder adds its child from the start hook the test names.
type hookAdder struct {
	service.Base
	hook string
	add  func(ctx context.Context, a *hookAdder) error
}

func (a *hookAdder) in(ctx context.Context, hook string) error {
	if a.hook == hook {
		return a.add(ctx, a)
	}
	return nil
}

func (a *hookAdder) OnFirstStart(ctx context.Context) error { return a.in(ctx, "OnFirstStart") }
func (a *hookAdder) OnStart(ctx context.Context) error      { return a.in(ctx, "OnStart") }
func (a *hookAdder) OnStarted(ctx context.Context) error    { return a.in(ctx, "OnStarted") }

// TestChildAddedFromEveryStartHook: OnStarted runs again at every restart,
// like OnStart, while the children stay attached; a child added there
// (Python mode's add_runtime_dependency in on_started) would fail the
// first restart with ErrAlreadyAdded. It is refused at the first start
// instead, whether the hook returns the error or not. OnFirstStart is the
// place: the child survives restarts. A start that succeeds must also
// restart.
func TestChildAddedFromEveryStartHook(t *testing.T) {
	adds := map[string]func(ctx context.Context, a *hookAdder, kid service.Service) error{
		"AddDependency": func(_ context.Context, a *hookAdder, kid service.Service) error {
			return a.AddDependency(kid)
		},
		"AddRuntimeDependency": func(ctx context.Context, a *hookAdder, kid service.Service) error {
			return a.AddRuntimeDependency(ctx, kid)
		},
		"AddRuntimeDependency, error ignored": func(ctx context.Context, a *hookAdder, kid service.Service) error {
			_ = a.AddRuntimeDependency(ctx, kid)
			return nil
		},
		"AddDependency, 300 calls deep": func(_ context.Context, a *hookAdder, kid service.Service) error {
			return deep(300, func() error { return a.AddDependency(kid) })
		},
	}
	tests := []struct {
		hook, add string
		refused   bool
	}{
		{"OnStart", "AddDependency", true},
		{"OnStart", "AddRuntimeDependency", true},
		{"OnStarted", "AddDependency", true},
		{"OnStarted", "AddRuntimeDependency", true},
		{"OnStarted", "AddRuntimeDependency, error ignored", true},
		{"OnStart", "AddDependency, 300 calls deep", true},
		{"OnFirstStart", "AddDependency", false},
		{"OnFirstStart", "AddRuntimeDependency", false},
	}
	l := zerolog.Nop()
	for _, tt := range tests {
		t.Run(tt.hook+"/"+tt.add, func(t *testing.T) {
			ctx := context.Background()
			kid := &hookAdder{}
			kid.Configure(service.Config{Name: "kid", Logger: &l})
			add := adds[tt.add]
			a := &hookAdder{hook: tt.hook, add: func(ctx context.Context, a *hookAdder) error { return add(ctx, a, kid) }}
			a.Configure(service.Config{Name: "a", Logger: &l})
			err := service.Start(ctx, a)
			if tt.refused {
				if !errors.Is(err, service.ErrAddedInOnStart) {
					t.Fatalf("start: %v, want ErrAddedInOnStart", err)
				}
				if a.State() != service.Init || kid.Node().Parent() != nil || kid.State() != service.Init {
					t.Fatalf("after the refused start: a %v, kid %v (attached: %v)", a.State(), kid.State(), kid.Node().Parent() != nil)
				}
				return
			}
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer func() {
				if err := a.Stop(ctx); err != nil {
					t.Error(err)
				}
			}()
			for i := range 2 {
				if err := a.Restart(ctx); err != nil {
					t.Fatalf("restart %d: %v", i+1, err)
				}
				if kid.State() != service.Running || a.Node().Len() != 1 {
					t.Fatalf("after restart %d: kid %v, %d children", i+1, kid.State(), a.Node().Len())
				}
			}
		})
	}
}

// deep calls fn n calls down the stack.
//
//go:noinline
func deep(n int, fn func() error) error {
	if n == 0 {
		return fn()
	}
	return deep(n-1, fn)
}
