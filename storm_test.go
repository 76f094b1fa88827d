package mode_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// Many concurrent crashes (run under -race): 100 children under one-for-one
// crash from 100 goroutines at once, half of them through a leaf below the
// supervised unit. Every one comes back Running, restarted exactly once: no
// wakeup is lost and none is doubled.
func TestConcurrentCrashStorm(t *testing.T) {
	const n = 100
	ctx := testCtx(t)
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{Strategy: strategy.OneForOne, MaxRestarts: 10 * n, Window: time.Hour})
	units := make([]*node, n)
	leaves := make([]*node, n)
	for i := range units {
		units[i] = newNode(fmt.Sprintf("unit%03d", i), nil)
		leaves[i] = newNode(fmt.Sprintf("leaf%03d", i), nil)
		must(t, units[i].AddDependency(leaves[i]))
		must(t, sup.Add(context.Background(), units[i]))
	}
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for i := range units {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			if i%2 == 0 {
				units[i].Crash(fmt.Errorf("unit %d: %w", i, errBoom))
			} else {
				leaves[i].Crash(fmt.Errorf("leaf %d: %w", i, errBoom))
			}
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()

	ev.wait(t, "sup", supervisor.ChildRestarted, "", n)
	for i, u := range units {
		id := u.name
		if got := ev.count("sup", supervisor.ChildRestarted, id); got != 1 {
			t.Errorf("%s restarted %d times, want 1", id, got)
		}
		if got := ev.count("sup", supervisor.ChildCrashed, id); got != 1 {
			t.Errorf("%s: %d crash events, want 1", id, got)
		}
		for _, s := range []*node{u, leaves[i]} {
			if s.State() != service.Running || s.RestartCount() != 1 || s.starts.Load() != 2 || s.restarts.Load() != 1 {
				t.Errorf("%s: state %v RestartCount %d starts %d OnRestart %d; want running, 1, 2, 1",
					s.name, s.State(), s.RestartCount(), s.starts.Load(), s.restarts.Load())
			}
		}
		if info := childInfo(t, sup, id); info.RestartCount != 1 || info.State != service.Running {
			t.Errorf("Children() %s: %+v", id, info)
		}
	}
	if got := ev.count("sup", supervisor.ChildRestarted, ""); got != n {
		t.Errorf("%d restarts in all, want %d", got, n)
	}
	if sup.State() != service.Running || sup.RestartCount() != 0 {
		t.Errorf("supervisor %v RestartCount %d", sup.State(), sup.RestartCount())
	}
}

// The same storm under one-for-all, all crashes landing while the
// supervisor's goroutine is busy (a Remove in progress holds it): the next
// wakeup drains every exit at once. The first exit restarts the whole
// group; the others are of runs that group restart already replaced, so
// there is exactly one group restart (OTP ignores exits of children it has
// already restarted) and nothing is left half-started.
func TestConcurrentCrashStormOneForAll(t *testing.T) {
	const n = 50
	ctx := testCtx(t)
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{Strategy: strategy.OneForAll, MaxRestarts: 10 * n, Window: time.Hour})
	kids := make([]*node, n)
	for i := range kids {
		kids[i] = newNode(fmt.Sprintf("kid%03d", i), nil)
		must(t, sup.Add(context.Background(), kids[i]))
	}
	blk := &blocker{entered: make(chan struct{}), release: make(chan struct{})}
	blk.Configure(service.Config{Name: "blocker", Logger: &quiet})
	must(t, sup.Add(context.Background(), blk, supervisor.ChildSpec{Restart: strategy.Temporary}))
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	removed := make(chan error, 1)
	go func() { removed <- sup.Remove(ctx, blk) }()
	<-blk.entered // the supervisor's child operations wait for this Remove

	var ready, done sync.WaitGroup
	gate := make(chan struct{})
	for _, k := range kids {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-gate
			k.Crash(errBoom)
		}()
	}
	ready.Wait()
	close(gate)
	done.Wait()
	close(blk.release)
	must(t, <-removed)

	ev.wait(t, "sup", supervisor.ChildRestarted, kids[n-1].name, 1)
	for _, k := range kids {
		if k.State() != service.Running || k.RestartCount() != 1 || k.starts.Load() != 2 {
			t.Errorf("%s: state %v RestartCount %d starts %d; want running, 1, 2", k.name, k.State(), k.RestartCount(), k.starts.Load())
		}
		if got := ev.count("sup", supervisor.ChildRestarted, k.name); got != 1 {
			t.Errorf("%s restarted %d times, want 1", k.name, got)
		}
	}
	if got := childIDs(sup); len(got) != n {
		t.Errorf("%d children after the storm, want %d", len(got), n)
	}
	if sup.State() != service.Running {
		t.Errorf("supervisor %v", sup.State())
	}
}

// blocker is a child whose stop blocks until released: while a supervisor
// stops it (Remove, Terminate) its other child operations wait.
type blocker struct {
	service.Base
	entered, release chan struct{}
}

func (b *blocker) OnStop(context.Context) error {
	close(b.entered)
	<-b.release
	return nil
}
