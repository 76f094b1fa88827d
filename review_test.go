package mode_test

// Regression test for a defect a hostile review of worker.go found (it
// failed as reviewed, and passes since its fix).

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

type slowStart struct {
	service.Base
	entered chan struct{}
}

func (s *slowStart) OnStart(ctx context.Context) error {
	close(s.entered)
	<-ctx.Done() // a dependency that never answers: only an abort ends it
	return ctx.Err()
}

// R2-W1. Code path: worker.go:Worker.Run installs the stop signals, then
// calls service.Start(ctx, root) with the caller's ctx only: a stop signal
// arriving during the start is read only after Start returns. A tree whose
// start waits (a slow dependency, honouring its ctx) cannot be stopped by
// SIGTERM: Kubernetes' grace period runs out and the pod is SIGKILLed,
// without any stop hook. The signal should cancel the start's ctx.
func TestReviewW1SignalDuringStartIgnored(t *testing.T) {
	l := zerolog.Nop()
	s := &slowStart{entered: make(chan struct{})}
	s.Configure(service.Config{Logger: &l})
	w := quietWorker(s)
	w.Signals = []os.Signal{syscall.SIGUSR2}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	<-s.entered
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	watchdog := time.NewTimer(3 * time.Second) // a bound, not a pace
	defer watchdog.Stop()
	select {
	case <-done:
		return
	case <-watchdog.C:
	}
	_ = s.Stop(context.Background()) // aborts the start: Run returns
	<-done
	t.Fatal("Run ignored a stop signal during the start for 3s")
}
