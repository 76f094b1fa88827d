package service_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/gomode/mode/service"
)

func TestAddRuntimeDependency(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p, c := newProbe("p", rec), newProbe("c", rec)
	must(t, service.Start(ctx, p))
	rec.take()

	must(t, p.AddRuntimeDependency(ctx, c))
	wantEvents(t, rec.take(), "c.OnFirstStart c.OnStart c.OnStarted")
	wantStates(t, service.Running, p, c)
	if c.Node().Parent() != p.Node() {
		t.Fatal("child not attached")
	}
	// A second add of the same child is refused and changes nothing.
	if err := p.AddRuntimeDependency(ctx, c); !errors.Is(err, service.ErrAlreadyAdded) {
		t.Fatalf("second AddRuntimeDependency: %v", err)
	}
	// It is now an ordinary child: restarted and stopped with its parent.
	must(t, p.Restart(ctx))
	if c.RestartCount() != 1 || c.State() != service.Running {
		t.Fatalf("child after parent Restart: %v, restarts %d", c.State(), c.RestartCount())
	}
	rec.take()
	must(t, p.Stop(ctx))
	wantEvents(t, rec.take(), "p.OnStop c.OnStop c.OnShutdown p.OnShutdown")
	wantStates(t, service.Shutdown, p, c)
}

// Before the children step AddRuntimeDependency is AddDependency: the child
// starts with its parent.
func TestAddRuntimeDependencyBeforeStart(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p, c := newProbe("p", rec), newProbe("c", rec)
	must(t, p.AddRuntimeDependency(ctx, c))
	if c.State() != service.Init {
		t.Fatalf("child started before its parent: %v", c.State())
	}
	must(t, service.Start(ctx, p))
	wantEvents(t, rec.take(), "p.OnFirstStart p.OnStart c.OnFirstStart c.OnStart c.OnStarted p.OnStarted")
	must(t, p.Stop(ctx))
	wantStates(t, service.Shutdown, p, c)
}

func TestAddRuntimeDependencyFailingChild(t *testing.T) {
	for _, hook := range []string{"OnFirstStart", "OnStart", "OnStarted"} {
		t.Run(hook, func(t *testing.T) {
			ctx := bg(t)
			rec := &recorder{}
			p, c := newProbe("p", rec), newProbe("c", rec)
			c.fail[hook] = errBoom
			must(t, service.Start(ctx, p))
			err := p.AddRuntimeDependency(ctx, c)
			if !errors.Is(err, errBoom) {
				t.Fatalf("AddRuntimeDependency: %v", err)
			}
			if c.Node().Parent() != nil || len(p.Node().Children()) != 0 {
				t.Fatal("failed child left attached")
			}
			if c.State() != service.Init || p.State() != service.Running {
				t.Fatalf("states: child %v, parent %v", c.State(), p.State())
			}
			// Detached for real: another parent can take it, and it starts.
			delete(c.fail, hook)
			q := newProbe("q", rec)
			must(t, service.Start(ctx, q))
			must(t, q.AddRuntimeDependency(ctx, c))
			if c.State() != service.Running {
				t.Fatalf("child under the second parent: %v", c.State())
			}
			rec.take()
			must(t, p.Stop(ctx))
			wantEvents(t, rec.take(), "p.OnStop p.OnShutdown")
			must(t, q.Stop(ctx))
			wantStates(t, service.Shutdown, c)
		})
	}
}

func TestRemoveDependency(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p := newProbe("p", rec)
	a, b, c := newProbe("a", rec), newProbe("b", rec), newProbe("c", rec)
	for _, k := range []*probe{a, b, c} {
		must(t, p.AddDependency(k))
	}
	must(t, service.Start(ctx, p))
	rec.take()

	must(t, p.RemoveDependency(ctx, b))
	wantEvents(t, rec.take(), "b.OnStop b.OnShutdown")
	if b.State() != service.Shutdown || b.Node().Parent() != nil {
		t.Fatalf("removed child: state %v, parent %v", b.State(), b.Node().Parent())
	}
	if err := p.RemoveDependency(ctx, b); !errors.Is(err, service.ErrNotChild) {
		t.Fatalf("second RemoveDependency: %v", err)
	}
	wantStates(t, service.Running, p, a, c)

	// The others stop in reverse order of adding; b is not touched.
	must(t, p.Stop(ctx))
	wantEvents(t, rec.take(), "p.OnStop c.OnStop c.OnShutdown a.OnStop a.OnShutdown p.OnShutdown")
	wantStates(t, service.Shutdown, a, b, c)
}

func TestRemoveDependencyBeforeStart(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p, c := newProbe("p", rec), newProbe("c", rec)
	must(t, p.AddDependency(c))
	must(t, p.RemoveDependency(ctx, c))
	if c.Node().Parent() != nil {
		t.Fatal("child still attached")
	}
	must(t, service.Start(ctx, p))
	must(t, p.Stop(ctx))
	wantEvents(t, rec.take(), "p.OnFirstStart p.OnStart p.OnStarted p.OnStop p.OnShutdown")
	if c.State() != service.Init {
		t.Fatalf("removed child state %v", c.State())
	}
}

// A child removing itself from inside its own task does not wait for itself.
func TestRemoveDependencyFromInsideChild(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p, c := newProbe("p", rec), newProbe("c", rec)
	must(t, p.AddDependency(c))
	must(t, service.Start(ctx, p))
	res := make(chan error, 1)
	must(t, c.Go("leave", func(ctx context.Context) error {
		res <- p.RemoveDependency(ctx, c)
		<-ctx.Done()
		return ctx.Err()
	}))
	must(t, <-res)
	must(t, c.WaitUntilStopped(ctx))
	if c.State() != service.Shutdown || c.Node().Parent() != nil {
		t.Fatalf("child: state %v, parent %v", c.State(), c.Node().Parent())
	}
	if p.State() != service.Running {
		t.Fatalf("parent state %v", p.State())
	}
	must(t, p.Stop(ctx))
}

// depProbe is a probe with Dependencies().
type depProbe struct {
	probe
	calls atomic.Int32
	kids  []service.Service
}

func newDepProbe(name string, rec *recorder, kids ...service.Service) *depProbe {
	d := &depProbe{kids: kids}
	d.name, d.rec, d.fail = name, rec, map[string]error{}
	d.Configure(service.Config{Name: name, Logger: &quiet})
	return d
}

func (d *depProbe) Dependencies() []service.Service {
	d.calls.Add(1)
	d.rec.add("%s.Dependencies", d.name)
	return d.kids
}

var _ service.Dependent = (*depProbe)(nil)

func TestDependenciesHook(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	k1, k2 := newProbe("k1", rec), newProbe("k2", rec)
	d := newDepProbe("d", rec, k1, k2)
	must(t, service.Start(ctx, d))
	wantEvents(t, rec.take(), "d.Dependencies d.OnFirstStart d.OnStart "+
		"k1.OnFirstStart k1.OnStart k1.OnStarted k2.OnFirstStart k2.OnStart k2.OnStarted d.OnStarted")
	must(t, d.Restart(ctx))
	rec.take()
	must(t, d.Stop(ctx))
	wantEvents(t, rec.take(), "d.OnStop k2.OnStop k2.OnShutdown k1.OnStop k1.OnShutdown d.OnShutdown")
	if n := d.calls.Load(); n != 1 {
		t.Fatalf("Dependencies called %d times", n)
	}
}

// A bad child from Dependencies() fails the first start; the children added
// before it stay attached and Dependencies() is not called again.
func TestDependenciesBadChild(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	k1 := newProbe("k1", rec)
	d := newDepProbe("d", rec, k1, nil)
	if err := service.Start(ctx, d); !errors.Is(err, service.ErrNilService) {
		t.Fatalf("Start: %v", err)
	}
	if d.State() != service.Init || k1.State() != service.Init {
		t.Fatalf("after failed start: %v %v", d.State(), k1.State())
	}
	must(t, service.Start(ctx, d))
	if n := d.calls.Load(); n != 1 {
		t.Fatalf("Dependencies called %d times", n)
	}
	if k1.State() != service.Running || k1.Node().Parent() != d.Node() {
		t.Fatalf("k1: %v", k1.State())
	}
	must(t, d.Stop(ctx))
}

// closerRec is an io.Closer recording its Close.
type closerRec struct {
	rec  *recorder
	name string
	err  error
}

func (c *closerRec) Close() error {
	c.rec.add("%s.Close", c.name)
	return c.err
}

func TestExitStackLIFO(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	errClose := errors.New("close failed")
	errDefer := errors.New("defer failed")
	var taskDone atomic.Bool
	h := newHookSvc("h")
	h.onStart = func(context.Context) error {
		push := func(name string, err error) error {
			return h.Defer(func() error {
				if !taskDone.Load() {
					rec.add("%s:task-still-running", name)
				}
				rec.add("%s", name)
				return err
			})
		}
		must(t, h.Go("worker", func(ctx context.Context) error {
			<-ctx.Done()
			taskDone.Store(true)
			return nil
		}))
		must(t, push("d1", nil))
		must(t, h.AddCloser(&closerRec{rec: rec, name: "conn", err: errClose}))
		must(t, push("d3", errDefer))
		must(t, h.Defer(func() error { panic("in defer") }))
		must(t, push("d5", nil))
		return nil
	}
	h.onStop = func(context.Context) error { rec.add("OnStop"); return nil }
	h.onShutdown = func(context.Context) error { rec.add("OnShutdown"); return nil }

	must(t, service.Start(ctx, h))
	err := h.Stop(ctx)
	wantEvents(t, rec.take(), "OnStop d5 d3 conn.Close d1 OnShutdown")
	for _, want := range []error{errClose, errDefer, service.ErrPanic} {
		if !errors.Is(err, want) {
			t.Errorf("Stop error %v does not hold %v", err, want)
		}
	}
	if h.State() != service.Shutdown {
		t.Fatalf("state %v", h.State())
	}

	// The stack is per run: a restart runs the first run's stack once, and
	// the second run's at its own stop.
	taskDone.Store(false)
	_ = h.Restart(ctx)
	rec.take()
	taskDone.Store(false)
	_ = h.Stop(ctx)
	wantEvents(t, rec.take(), "OnStop d5 d3 conn.Close d1 OnShutdown")
}

// The exit stack also runs, LIFO, when a start is rolled back.
func TestExitStackOnRollback(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	h := newHookSvc("h")
	h.onStart = func(context.Context) error {
		must(t, h.Defer(func() error { rec.add("d1"); return nil }))
		must(t, h.AddCloser(&closerRec{rec: rec, name: "c2"}))
		return nil
	}
	h.onStarted = func(context.Context) error { return errBoom }
	if err := service.Start(ctx, h); !errors.Is(err, errBoom) {
		t.Fatalf("Start: %v", err)
	}
	wantEvents(t, rec.take(), "c2.Close d1")
	if h.State() != service.Init {
		t.Fatalf("state %v", h.State())
	}
}
