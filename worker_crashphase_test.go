package mode_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// phaseCrasher crashes during its start (a task fails while OnStarted
// waits) or during its stop (a task fails once its ctx ends).
type phaseCrasher struct {
	service.Base
	inStart bool
}

func (s *phaseCrasher) OnStart(context.Context) error {
	return s.Go("work", func(ctx context.Context) error {
		if s.inStart {
			return errors.New("lost the database")
		}
		<-ctx.Done()
		return errors.New("flush failed")
	})
}

func (s *phaseCrasher) OnStarted(ctx context.Context) error {
	if s.inStart {
		<-ctx.Done() // the crash ends the start
		return ctx.Err()
	}
	return nil
}

// TestWorkerCrashInEveryPhase: a crash during the start is a failed start;
// a task failing during the stop is a stop that did not finish cleanly.
// Either way Run returns the reason, and the tree is down.
func TestWorkerCrashInEveryPhase(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inStart bool
		code    int
		reason  string
		state   service.State
	}{
		{"during the start", true, mode.ExitStartFailed, "lost the database", service.Init},
		{"during the stop", false, mode.ExitFailure, "flush failed", service.Shutdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := zerolog.Nop()
			s := &phaseCrasher{inStart: tc.inStart}
			s.Configure(service.Config{Logger: &l})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := quietWorker(s)
			w.Ready = cancel
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("Run did not return")
			}
			if code := mode.ExitCode(err); code != tc.code || err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Run: %v: exit %d, want %d and %q", err, code, tc.code, tc.reason)
			}
			if st := s.State(); st != tc.state {
				t.Fatalf("state %v, want %v", st, tc.state)
			}
		})
	}
}
