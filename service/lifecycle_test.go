package service_test

import (
	"errors"
	"testing"

	"github.com/gomode/mode/service"
)

// The order of hooks for a three-level tree, as the service package doc's "Order of things"
// gives it.
const (
	startOrder = "root.OnFirstStart root.OnStart " +
		"a.OnFirstStart a.OnStart a1.OnFirstStart a1.OnStart a1.OnStarted a2.OnFirstStart a2.OnStart a2.OnStarted a.OnStarted " +
		"b.OnFirstStart b.OnStart b1.OnFirstStart b1.OnStart b1.OnStarted b.OnStarted " +
		"root.OnStarted"
	stopOrder = "root.OnStop " +
		"b.OnStop b1.OnStop b1.OnShutdown b.OnShutdown " +
		"a.OnStop a2.OnStop a2.OnShutdown a1.OnStop a1.OnShutdown a.OnShutdown " +
		"root.OnShutdown"
	restartHooks = "root.OnRestart a.OnRestart a1.OnRestart a2.OnRestart b.OnRestart b1.OnRestart"
	restartStart = "root.OnStart " +
		"a.OnStart a1.OnStart a1.OnStarted a2.OnStart a2.OnStarted a.OnStarted " +
		"b.OnStart b1.OnStart b1.OnStarted b.OnStarted " +
		"root.OnStarted"
)

func TestHookOrder(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)

	must(t, service.Start(ctx, root))
	wantEvents(t, rec.take(), startOrder)
	wantStates(t, service.Running, all...)

	must(t, root.Restart(ctx))
	wantEvents(t, rec.take(), stopOrder+" "+restartHooks+" "+restartStart)
	wantStates(t, service.Running, all...)
	for _, p := range all {
		if n := p.RestartCount(); n != 1 {
			t.Errorf("%s: RestartCount %d, want 1", p.name, n)
		}
	}

	must(t, root.Stop(ctx))
	wantEvents(t, rec.take(), stopOrder)
	wantStates(t, service.Shutdown, all...)
}

func TestRestartSubtreeCounts(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)
	a, a1, a2, b, b1 := all[1], all[2], all[3], all[4], all[5]
	must(t, service.Start(ctx, root))
	rec.take()

	must(t, a.Restart(ctx))
	wantEvents(t, rec.take(),
		"a.OnStop a2.OnStop a2.OnShutdown a1.OnStop a1.OnShutdown a.OnShutdown "+
			"a.OnRestart a1.OnRestart a2.OnRestart "+
			"a.OnStart a1.OnStart a1.OnStarted a2.OnStart a2.OnStarted a.OnStarted")
	must(t, a.Restart(ctx))
	rec.take()
	counts := map[*probe]int{root: 0, a: 2, a1: 2, a2: 2, b: 0, b1: 0}
	for p, n := range counts {
		if got := p.RestartCount(); got != n {
			t.Errorf("%s: RestartCount %d, want %d", p.name, got, n)
		}
	}
	must(t, root.Stop(ctx))
	rec.take()
	wantStates(t, service.Shutdown, all...)

	// Restart from Shutdown runs it again, without a stop.
	must(t, root.Restart(ctx))
	wantEvents(t, rec.take(), restartHooks+" "+restartStart)
	must(t, root.Stop(ctx))
}

func TestStates(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	if p.State() != service.Init || p.State().String() != "init" {
		t.Fatalf("zero state %v", p.State())
	}
	// Stop and Restart before start.
	must(t, p.Stop(ctx))
	if err := p.Restart(ctx); !errors.Is(err, service.ErrNotStarted) {
		t.Fatalf("Restart before start: %v", err)
	}
	must(t, service.Start(ctx, p))
	if err := service.Start(ctx, p); !errors.Is(err, service.ErrAlreadyStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if ok, err := service.MaybeStart(ctx, p); ok || err != nil {
		t.Fatalf("MaybeStart on running: %v %v", ok, err)
	}
	must(t, p.Stop(ctx))
	must(t, p.Stop(ctx)) // idempotent
	if p.State() != service.Shutdown {
		t.Fatalf("state after Stop: %v", p.State())
	}
	if err := service.Start(ctx, p); !errors.Is(err, service.ErrAlreadyStarted) {
		t.Fatalf("Start after Stop: %v", err)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done open after Stop")
	}
	q := newProbe("q", &recorder{})
	if ok, err := service.MaybeStart(ctx, q); !ok || err != nil {
		t.Fatalf("MaybeStart: %v %v", ok, err)
	}
	must(t, q.Stop(ctx))
}

func TestOnFirstStartOnlyOnce(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p := newProbe("p", rec)
	p.fail["OnFirstStart"] = errBoom
	if err := service.Start(ctx, p); !errors.Is(err, errBoom) {
		t.Fatalf("Start: %v", err)
	}
	delete(p.fail, "OnFirstStart")
	must(t, service.Start(ctx, p))
	must(t, p.Restart(ctx))
	must(t, p.Stop(ctx))
	wantEvents(t, rec.take(),
		"p.OnFirstStart "+
			"p.OnFirstStart p.OnStart p.OnStarted "+
			"p.OnStop p.OnShutdown p.OnRestart p.OnStart p.OnStarted "+
			"p.OnStop p.OnShutdown")
}

type withDeps struct {
	service.Base
	calls int
	kids  []service.Service
}

func (w *withDeps) Dependencies() []service.Service { w.calls++; return w.kids }

var _ service.Dependent = (*withDeps)(nil)

func TestDependenciesCalledOnce(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	k1, k2 := newProbe("k1", rec), newProbe("k2", rec)
	w := &withDeps{kids: []service.Service{k1, k2}}
	w.Configure(service.Config{Logger: &quiet})
	must(t, service.Start(ctx, w))
	must(t, w.Restart(ctx))
	must(t, w.Stop(ctx))
	if w.calls != 1 {
		t.Fatalf("Dependencies called %d times", w.calls)
	}
	if n := len(w.Node().Children()); n != 2 {
		t.Fatalf("%d children", n)
	}
	wantStates(t, service.Shutdown, k1, k2)
	if k1.RestartCount() != 1 {
		t.Fatalf("child RestartCount %d", k1.RestartCount())
	}
}
