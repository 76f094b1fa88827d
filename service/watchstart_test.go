package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// TestWatchDeadlineStartsWhenRunning watches a task (or the service's
// heartbeat) from before the service is Running, its start taking most of
// a deadline: the deadline runs from the moment it is Running, so the
// task has a whole deadline to beat once Running, not what its start left.
func TestWatchDeadlineStartsWhenRunning(t *testing.T) {
	const dl = 5 * time.Second
	for _, tc := range []struct {
		name string
		cfg  service.Config
		task bool // watched by a task's Watch, else by HeartbeatDeadline
	}{
		{"Watch", service.Config{}, true},
		{"HeartbeatDeadline", service.Config{HeartbeatDeadline: dl}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(epoch)
			watching := make(chan struct{})
			release := make(chan struct{})
			s := &timed{onStart: func(ctx context.Context, s *timed) error {
				if tc.task {
					if err := s.Go("loop", func(ctx context.Context) error {
						w, err := service.Watch(ctx, "loop", dl)
						if err != nil {
							return err
						}
						defer w.Stop()
						close(watching)
						<-ctx.Done()
						return nil
					}); err != nil {
						return err
					}
				} else {
					close(watching)
				}
				<-release
				return nil
			}}
			cfg := tc.cfg
			cfg.Clock, cfg.Name = fake, "timed"
			l := zerolog.Nop()
			cfg.Logger = &l
			s.Configure(cfg)
			started := make(chan error, 1)
			go func() { started <- service.Start(timeCtx(t), s) }()
			<-watching
			if tc.task {
				armed(t, fake, 1)
				fake.Advance(4 * time.Second) // the start takes 4s of the 5s
			}
			close(release)
			must(t, <-started)
			defer func() { _ = s.Stop(timeCtx(t)) }()
			armed(t, fake, 1)
			fake.Advance(time.Second) // Running for 1s: not hung
			armed(t, fake, 1)
			if st := s.State(); st != service.Running {
				t.Fatalf("state %s 1s after Running, want running (reason %v)", st, s.CrashReason())
			}
			fake.Advance(dl)
			if err := s.WaitUntilStopped(timeCtx(t)); !errors.Is(err, service.ErrHung) {
				t.Fatalf("crash reason %v, want ErrHung a deadline after Running", err)
			}
		})
	}
}
