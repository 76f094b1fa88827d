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

// TestOnFirstStartRetried: OnFirstStart is called again at the next start
// attempt when it failed; the children it had added before failing are
// taken back, so that the retry can add them again instead of failing
// with ErrAlreadyAdded at every attempt. Those added by an attempt that
// succeeded stay.
func TestOnFirstStartRetried(t *testing.T) {
	tests := []struct {
		name  string
		fails int // attempts that fail after adding
		kids  int
	}{
		{"succeeds at once", 0, 2},
		{"fails once", 1, 2},
		{"fails three times", 3, 1},
	}
	l := zerolog.Nop()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			kids := make([]*hookAdder, tt.kids)
			for i := range kids {
				kids[i] = &hookAdder{}
				kids[i].Configure(service.Config{Name: "kid", Logger: &l})
			}
			old := &hookAdder{} // added before Start: stays whatever happens
			old.Configure(service.Config{Name: "old", Logger: &l})
			attempts := 0
			a := &hookAdder{hook: "OnFirstStart", add: func(ctx context.Context, a *hookAdder) error {
				attempts++
				for _, k := range kids {
					if err := a.AddDependency(k); err != nil {
						return err
					}
				}
				if attempts <= tt.fails {
					return errors.New("not yet")
				}
				return nil
			}}
			a.Configure(service.Config{Name: "a", Logger: &l})
			if err := a.AddDependency(old); err != nil {
				t.Fatal(err)
			}
			for i := range tt.fails {
				if err := service.Start(ctx, a); err == nil || errors.Is(err, service.ErrAlreadyAdded) {
					t.Fatalf("attempt %d: %v, want OnFirstStart's error", i+1, err)
				}
				if n := a.Node().Len(); n != 1 {
					t.Fatalf("after failed attempt %d: %d children, want 1 (old)", i+1, n)
				}
			}
			if err := service.Start(ctx, a); err != nil {
				t.Fatalf("last attempt: %v", err)
			}
			defer func() {
				if err := a.Stop(ctx); err != nil {
					t.Error(err)
				}
			}()
			if err := a.Restart(ctx); err != nil {
				t.Fatalf("restart: %v", err)
			}
			if n := a.Node().Len(); n != tt.kids+1 || old.State() != service.Running {
				t.Fatalf("%d children, old %v; want %d, Running", n, old.State(), tt.kids+1)
			}
			for i, k := range kids {
				if k.State() != service.Running {
					t.Errorf("kid %d %v", i, k.State())
				}
			}
		})
	}
}

// TestAddedInOnStartNoFalseAlarm: while a parent's OnStart or OnStarted
// runs, code on other goroutines that no start hook runs may add children
// below it: it is not refused, and the start is not failed.
func TestAddedInOnStartNoFalseAlarm(t *testing.T) {
	l := zerolog.Nop()
	for _, hook := range []string{"OnStart", "OnStarted"} {
		t.Run(hook, func(t *testing.T) {
			ctx := context.Background()
			inner := &hookAdder{} // a's child, in Init during a's OnStart
			inner.Configure(service.Config{Name: "inner", Logger: &l})
			kid := &hookAdder{}
			kid.Configure(service.Config{Name: "kid", Logger: &l})
			entered, proceed := make(chan struct{}), make(chan struct{})
			a := &hookAdder{hook: hook, add: func(context.Context, *hookAdder) error {
				close(entered)
				<-proceed // the test's goroutine adds meanwhile
				return nil
			}}
			a.Configure(service.Config{Name: "a", Logger: &l})
			if err := a.AddDependency(inner); err != nil {
				t.Fatal(err)
			}
			started := make(chan error, 1)
			go func() { started <- service.Start(ctx, a) }()
			<-entered
			addErr := inner.AddDependency(kid)
			close(proceed)
			if err := <-started; err != nil {
				t.Fatalf("start: %v", err)
			}
			defer func() {
				if err := a.Stop(ctx); err != nil {
					t.Error(err)
				}
			}()
			if hook == "OnStart" && addErr != nil {
				t.Fatalf("add under a child in Init: %v", addErr)
			}
			if hook == "OnStarted" && !errors.Is(addErr, service.ErrRunning) {
				t.Fatalf("add under a running child: %v, want ErrRunning", addErr)
			}
		})
	}
}

// TestAddedInOnStartNestedStart: OnStart or OnStarted may start a child
// itself (MaybeStart, to use it at once, or Restart); the child's own
// first-time steps then add its children legitimately, below the parent's
// hook on the same goroutine: that is no child added in the parent's
// hook. A child the nested start's own OnStart adds is still refused.
func TestAddedInOnStartNestedStart(t *testing.T) {
	l := zerolog.Nop()
	tests := []struct {
		hook, kidHook string
		background    bool // MaybeStart gets a ctx that cannot end: the hooks run on the caller's goroutine
		refused       bool
	}{
		{"OnStart", "OnFirstStart", false, false},
		{"OnStart", "OnFirstStart", true, false},
		{"OnStart", "OnStart", false, true},
		{"OnStart", "OnStart", true, true},
	}
	for _, tt := range tests {
		name := tt.hook + " starts a child adding in " + tt.kidHook
		if tt.background {
			name += ", background ctx"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			grand := &hookAdder{}
			grand.Configure(service.Config{Name: "grand", Logger: &l})
			child := &hookAdder{hook: tt.kidHook, add: func(_ context.Context, c *hookAdder) error {
				return c.AddDependency(grand)
			}}
			child.Configure(service.Config{Name: "child", Logger: &l})
			a := &hookAdder{hook: tt.hook, add: func(ctx context.Context, _ *hookAdder) error {
				if tt.background {
					ctx = context.Background()
				}
				_, err := service.MaybeStart(ctx, child) // ready before the children step
				return err
			}}
			a.Configure(service.Config{Name: "a", Logger: &l})
			if err := a.AddDependency(child); err != nil {
				t.Fatal(err)
			}
			err := service.Start(ctx, a)
			if tt.refused {
				if !errors.Is(err, service.ErrAddedInOnStart) {
					t.Fatalf("start: %v, want ErrAddedInOnStart", err)
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
			if err := a.Restart(ctx); err != nil {
				t.Fatalf("restart: %v", err)
			}
			if grand.State() != service.Running {
				t.Fatalf("grand %v, want Running", grand.State())
			}
		})
	}
}
