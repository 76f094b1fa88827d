package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// addRace is an observer of one child: when the child becomes Running (on
// the supervisor's goroutine, after its start succeeded and before Add is
// answered), it ends the Add's ctx and waits until Add has returned.
type addRace struct {
	cancel   context.CancelFunc
	returned chan struct{} // closed once Add returned
	down     chan struct{} // closed when the child reaches Shutdown
}

func (a *addRace) StateChanged(_ service.Service, _, to service.State) {
	switch to {
	case service.Running:
		a.cancel()
		<-a.returned
	case service.Shutdown:
		close(a.down)
	}
}

// TestAddCtxEndsAfterTheStart: the ctx of an Add ends after the child's
// start succeeded but before the answer reached the caller. Add returns
// the ctx's error, which says the child was not added: the supervisor
// takes it back (stopped, no longer a child), instead of leaving a child
// the caller believes it failed to add.
func TestAddCtxEndsAfterTheStart(t *testing.T) {
	ctx := bg(t)
	sup := newSup(supervisor.Spec{}, nil)
	must(t, service.Start(ctx, sup))
	defer func() { must(t, sup.Stop(ctx)) }()

	w := newWorker("late")
	actx, cancel := context.WithCancel(ctx)
	race := &addRace{cancel: cancel, returned: make(chan struct{}), down: make(chan struct{})}
	detach, err := service.Observe(w, race)
	must(t, err)
	defer detach()

	err = sup.Add(actx, w)
	close(race.returned)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Add: %v, want context.Canceled", err)
	}
	select {
	case <-race.down:
	case <-time.After(20 * time.Second):
		t.Fatalf("the child whose Add failed is still %v", w.State())
	}
	// The supervisor forgets it in the step after the stop: a request
	// queued behind that step sees the outcome.
	if err := sup.Terminate(ctx, "late"); !errors.Is(err, supervisor.ErrNoChild) {
		t.Errorf("Terminate of the child whose Add failed: %v, want ErrNoChild", err)
	}
	for _, c := range sup.Children() {
		if c.ID == "late" {
			t.Errorf("the child whose Add failed is still a child: %+v", c)
		}
	}
	// It can be added again.
	must(t, sup.Add(ctx, w))
	if st := w.State(); st != service.Running {
		t.Errorf("added again: %v, want running", st)
	}
}
