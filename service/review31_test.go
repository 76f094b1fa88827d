package service_test

// Review 31: the diag flag of same-name timers, counted per service and
// name in a package-wide map (a59b2fb).

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
)

// TestReview31TimerFlag: the flag "t" is set while a call runs and clear
// once none does, whatever the call did (returned, failed, panicked, left
// its goroutine), across Restart and Stop, and per service.
func TestReview31TimerFlag(t *testing.T) {
	cases := []struct {
		name string
		end  func() error // how the first call ends
	}{
		{"returns", func() error { return nil }},
		{"fails", func() error { return errors.New("boom") }},
		{"panics", func() error { panic("boom") }},
		{"goexit", func() error { runtime.Goexit(); return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				in, gate := make(chan struct{}, 1), make(chan struct{})
				var calls atomic.Int32
				s := newR24("r31", time.Second, func(ctx context.Context, s *r24) error {
					return s.Every(time.Hour, func(ctx context.Context) error {
						if calls.Add(1) != 1 {
							return nil
						}
						in <- struct{}{}
						<-gate
						return c.end()
					}, service.Named("t"), service.ExecFirst(), service.ContinueOnError())
				})
				other := newR24("r31b", time.Second, func(ctx context.Context, s *r24) error {
					return s.Every(time.Hour, func(context.Context) error { return nil }, service.Named("t"), service.ExecFirst())
				})
				if err := service.Start(context.Background(), s); err != nil {
					t.Fatal(err)
				}
				if err := service.Start(context.Background(), other); err != nil {
					t.Fatal(err)
				}
				<-in
				synctest.Wait()
				if !s.Diag().Has("t") {
					t.Fatalf("flag not set while the call runs: %v", s.Diag().Flags())
				}
				if other.Diag().Has("t") {
					t.Errorf("another service's flag set by this one's call: %v", other.Diag().Flags())
				}
				close(gate)
				synctest.Wait()
				if s.Diag().Has("t") {
					t.Errorf("flag still set once the call has ended (%s): %v", c.name, s.Diag().Flags())
				}
				if err := s.Restart(context.Background()); err != nil {
					t.Logf("Restart: %v", err)
				}
				synctest.Wait()
				if s.Diag().Has("t") {
					t.Errorf("flag set after the Restart with no call running: %v", s.Diag().Flags())
				}
				_ = s.Stop(context.Background())
				_ = other.Stop(context.Background())
				if s.Diag().Has("t") || other.Diag().Has("t") {
					t.Errorf("flag set after Stop: %v, %v", s.Diag().Flags(), other.Diag().Flags())
				}
			})
		})
	}
}

// r31Restarter is an r24 with an OnRestart hook.
type r31Restarter struct {
	r24
	onRestart func(ctx context.Context) error
}

func (s *r31Restarter) OnRestart(ctx context.Context) error { return s.onRestart(ctx) }

// TestReview31StopDuringRestartStart: a Stop that comes while a Restart's
// start half runs (its OnStart blocks until its ctx ends) aborts it: the
// Restart returns ErrStopped, the Stop nil, and the service ends shutdown.
func TestReview31StopDuringRestartStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts atomic.Int32
		in := make(chan struct{})
		s := newR24("r31", time.Second, func(ctx context.Context, s *r24) error {
			if starts.Add(1) == 2 {
				close(in)
				<-ctx.Done()
				return context.Cause(ctx)
			}
			return nil
		})
		if err := service.Start(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		restarted := make(chan error, 1)
		go func() { restarted <- s.Restart(context.Background()) }()
		<-in
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("Stop during the Restart's start: %v", err)
		}
		if err := <-restarted; !errors.Is(err, service.ErrStopped) {
			t.Errorf("Restart: %v, want ErrStopped", err)
		}
		if st := s.State(); st != service.Shutdown {
			t.Errorf("after a Stop that aborted a Restart's start: %v, want shutdown (the Stop wins)", st)
		}
		if err := s.Restart(context.Background()); err != nil {
			t.Errorf("a later Restart: %v", err)
		}
		_ = s.Stop(context.Background())
	})
}

// TestReview31OnRestartErrorText: an OnRestart error of a leaf's own
// Restart opens with its label, names it once, and OnRestart once.
func TestReview31OnRestartErrorText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &r31Restarter{onRestart: func(context.Context) error { return errors.New("nope") }}
		s.Configure(service.Config{Name: "leaf", Logger: &quiet, StopTimeout: time.Second})
		if err := service.Start(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Stop(context.Background()) }()
		err := s.Restart(context.Background())
		if err == nil {
			t.Fatal("Restart: nil, want OnRestart's error")
		}
		txt := err.Error()
		if !strings.HasPrefix(txt, s.Label()+": ") || strings.Count(txt, "leaf") != 1 || strings.Count(txt, "OnRestart") != 1 || !strings.Contains(txt, "nope") {
			t.Errorf("Restart's error %q: want it opened by %q, naming the service and OnRestart once", txt, s.Label())
		}
	})
}
