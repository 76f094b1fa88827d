package service_test

// Regression tests from a third hostile review. Each one failed on the engine as
// reviewed and passes since its fix; the comment above each names the code path and the defect.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// R3-3 (service side). Code path: startsteps.go:startSteps starts the children
// with c.base().start(ctx, ...) under the parent's start ctx only; a
// Stop arriving during the start (stop.go:stop, state Starting) cancels
// the parent's run, which the child's start never sees. A child whose
// OnStart honours its ctx holds the aborted start until the start ctx ends
// (never, here); Stop gives up with ErrStopTimeout after its whole budget.
// Documented: "A Stop arriving during a Start aborts it".
func TestReview3StopDuringStartReachesChildStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := newRsvc("p", service.Config{StopTimeout: time.Second})
	c := newRsvc("c", service.Config{})
	in, release := make(chan struct{}), make(chan struct{})
	c.onStart = func(ctx context.Context) error {
		close(in)
		select { // honours its ctx
		case <-ctx.Done():
			return ctx.Err()
		case <-release:
			return errors.New("released by the test: the Stop never reached this hook")
		}
	}
	must(t, p.AddDependency(c))
	startErr := make(chan error, 1)
	go func() { startErr <- service.Start(context.Background(), p) }()
	<-in
	stopErr := noHang(t, func() error { return p.Stop(ctx) })
	var err error
	select {
	case err = <-startErr:
	case <-time.After(5 * time.Second):
		close(release)
		err = <-startErr
		t.Errorf("Start still blocked 5s after a Stop aborted it")
	}
	if stopErr != nil {
		t.Errorf("Stop during the start: %v", stopErr)
	}
	if err == nil || p.State() != service.Init || c.State() != service.Init {
		t.Errorf("aborted start: %v; states p %v, c %v (want Init)", err, p.State(), c.State())
	}
}
