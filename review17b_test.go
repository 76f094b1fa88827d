package mode_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

var r17bNop = zerolog.Nop()

// r17bLeaf is a service whose hooks are function fields (nil: no-op);
// with tick set, OnStart registers an Every timer.
type r17bLeaf struct {
	service.Base
	tick               bool
	onStop, onShutdown func(context.Context) error
}

func newR17bLeaf(name string) *r17bLeaf {
	l := &r17bLeaf{}
	l.Configure(service.Config{Name: name, Logger: &r17bNop})
	return l
}

func (l *r17bLeaf) OnStart(context.Context) error {
	if l.tick {
		return l.Every(time.Millisecond, func(context.Context) error { return nil })
	}
	return nil
}

func (l *r17bLeaf) OnStop(ctx context.Context) error {
	if l.onStop != nil {
		return l.onStop(ctx)
	}
	return nil
}

func (l *r17bLeaf) OnShutdown(ctx context.Context) error {
	if l.onShutdown != nil {
		return l.onShutdown(ctx)
	}
	return nil
}

// TestReview17bWorkerHungChildAndAdminRestart: a Worker's tree stops
// within the Worker's StopTimeout although one child's OnStop ignores its
// ctx (named in the error, ExitStopTimeout), its well-behaved siblings
// (with timers) stop cleanly, and a grandchild that an admin goroutine
// restarts after its parent stopped it is refused and stays down.
func TestReview17bWorkerHungChildAndAdminRestart(t *testing.T) {
	release := make(chan struct{})
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	hung := newR17bLeaf("hung")
	hung.onStop = func(context.Context) error { <-release; return nil }
	a, b := newR17bLeaf("a"), newR17bLeaf("b")
	a.tick, b.tick = true, true
	p, k := newR17bLeaf("p"), newR17bLeaf("k")
	if err := p.AddDependency(k); err != nil {
		t.Fatal(err)
	}
	admin := make(chan error, 1)
	p.onShutdown = func(context.Context) error {
		// p's children are stopped: an admin call restarts k now.
		go func() { admin <- k.Restart(context.Background()) }()
		select {
		case err := <-admin:
			admin <- err
		case <-time.After(10 * time.Second):
		}
		return nil
	}
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root", Logger: &r17bNop}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range []service.Service{a, hung, p, b} {
		if err := sup.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	ready := make(chan struct{})
	w := &mode.Worker{Service: sup, Logger: &r17bNop, StopTimeout: 400 * time.Millisecond, Ready: func() { close(ready) }}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-ready
	began := time.Now()
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("Run returned %v after the stop began, StopTimeout 400ms", d)
	}
	if mode.ExitCode(err) != mode.ExitStopTimeout || !strings.Contains(err.Error(), "hung") || !strings.Contains(err.Error(), "OnStop") {
		t.Errorf("Run: %v (code %d), want ExitStopTimeout naming hung's OnStop", err, mode.ExitCode(err))
	}
	if rerr := <-admin; !errors.Is(rerr, service.ErrStopping) {
		t.Errorf("k.Restart during p's stop: %v, want ErrStopping", rerr)
	}
	for _, s := range []service.Service{a, b, p, k} {
		if st := s.State(); st != service.Shutdown {
			t.Errorf("%s %v after Run", s.Label(), st)
		}
	}
	close(release) // the abandoned OnStop returns: goleak (TestMain) checks that nothing is left
}
