package service_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gomode/mode/service"
)

// TestRollback fails the start at each step and checks that everything the
// start began is undone as a Stop of what started: OnStop and OnShutdown
// when OnStart had returned nil, started children stopped and back in
// Init, tasks joined, the exit stack run, the service in Init; a retry then
// works.
func TestRollback(t *testing.T) {
	cases := []struct {
		name string
		who  string // the probe whose hook fails
		hook string
		want string // events of the failed start, rollback included
	}{
		{"OnFirstStart", "root", "OnFirstStart",
			"root.OnFirstStart"},
		{"OnStart", "root", "OnStart",
			"root.OnFirstStart root.OnStart root.closer"},
		{"child start", "b", "OnStart",
			"root.OnFirstStart root.OnStart a.OnFirstStart a.OnStart a.OnStarted b.OnFirstStart b.OnStart b.closer " +
				"root.OnStop a.OnStop a.closer a.OnShutdown root.closer root.OnShutdown"},
		{"OnStarted", "root", "OnStarted",
			"root.OnFirstStart root.OnStart a.OnFirstStart a.OnStart a.OnStarted b.OnFirstStart b.OnStart b.OnStarted root.OnStarted " +
				"root.OnStop b.OnStop b.closer b.OnShutdown a.OnStop a.closer a.OnShutdown root.closer root.OnShutdown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			rec := &recorder{}
			root, a, b := newProbe("root", rec), newProbe("a", rec), newProbe("b", rec)
			must(t, root.AddDependency(a))
			must(t, root.AddDependency(b))
			all := []*probe{root, a, b}
			var live atomic.Int32 // tasks running
			for _, p := range all {
				p.onStart = func(ctx context.Context, p *probe) error {
					live.Add(1)
					err := p.Go("block", func(ctx context.Context) error {
						defer live.Add(-1)
						return blockTask(ctx)
					})
					if err != nil {
						return err
					}
					return p.Defer(func() error { rec.add("%s.closer", p.name); return nil })
				}
			}
			byName := map[string]*probe{"root": root, "a": a, "b": b}
			byName[tc.who].fail[tc.hook] = errBoom

			err := service.Start(ctx, root)
			if !errors.Is(err, errBoom) {
				t.Fatalf("Start: %v", err)
			}
			if !strings.Contains(err.Error(), "root") {
				t.Errorf("error does not name the service: %v", err)
			}
			wantEvents(t, rec.take(), tc.want)
			wantStates(t, service.Init, all...)
			if n := live.Load(); n != 0 {
				t.Errorf("%d tasks left running", n)
			}
			for _, p := range all {
				if p.RestartCount() != 0 {
					t.Errorf("%s: RestartCount %d", p.name, p.RestartCount())
				}
			}

			delete(byName[tc.who].fail, tc.hook)
			must(t, service.Start(ctx, root))
			wantStates(t, service.Running, all...)
			must(t, root.Stop(ctx))
			wantStates(t, service.Shutdown, all...)
		})
	}
}

// A crash during Start (from a task started by OnStart) aborts the start:
// it rolls back and returns the reason.
func TestCrashDuringStartAborts(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p := newProbe("p", rec)
	release := make(chan struct{})
	p.onStart = func(ctx context.Context, p *probe) error {
		p.Crash(errBoom)
		close(release)
		return nil
	}
	err := service.Start(ctx, p)
	<-release
	if !errors.Is(err, errBoom) {
		t.Fatalf("Start: %v", err)
	}
	if p.State() != service.Init {
		t.Fatalf("state %v", p.State())
	}
}

// A start bounded by a ctx that ends is rolled back with ctx's error.
func TestStartCtxEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := newProbe("p", &recorder{})
	p.onStart = func(context.Context, *probe) error { cancel(); return nil }
	if err := service.Start(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start: %v", err)
	}
	if p.State() != service.Init {
		t.Fatalf("state %v", p.State())
	}
}
