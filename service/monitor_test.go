package service_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

// checked is a service with a Healthcheck hook given by the test.
type checked struct {
	timed
	check func(ctx context.Context) error
}

func (c *checked) Healthcheck(ctx context.Context) error { return c.check(ctx) }

var _ service.Healthchecker = (*checked)(nil)

func startChecked(t *testing.T, fake *clock.Fake, iv time.Duration, check func(context.Context) error) *checked {
	t.Helper()
	s := &checked{check: check}
	s.Configure(service.Config{Name: "checked", Clock: fake, Logger: &timeQuiet, MonitoringInterval: iv})
	if err := service.Start(timeCtx(t), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s
}

var errSick = errors.New("disk full")

func TestMonitoringCrash(t *testing.T) {
	fake := clock.NewFake(epoch)
	var sick atomic.Bool
	checks := newCalls()
	s := startChecked(t, fake, time.Second, func(ctx context.Context) error {
		dl, ok := ctx.Deadline()
		if !ok || !dl.Equal(fake.Now().Add(time.Second)) {
			return errors.New("healthcheck ctx has no one-interval deadline")
		}
		checks <- fake.Now()
		if sick.Load() {
			return errSick
		}
		return nil
	})
	for i := 1; i <= 3; i++ {
		armed(t, fake, 1)
		fake.Advance(time.Second)
		if at := checks.next(t); !at.Equal(epoch.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("check at %v", at)
		}
	}
	armed(t, fake, 1)
	if st := s.State(); st != service.Running {
		t.Fatalf("healthy service: state %s", st)
	}
	sick.Store(true)
	fake.Advance(time.Second)
	err := s.WaitUntilStopped(timeCtx(t))
	if !errors.Is(err, service.ErrUnhealthy) || !errors.Is(err, errSick) {
		t.Fatalf("crash reason %v, want ErrUnhealthy wrapping %v", err, errSick)
	}
	if st := s.State(); st != service.Crashed {
		t.Fatalf("state %s", st)
	}
}

func TestMonitoringTimeout(t *testing.T) {
	fake := clock.NewFake(epoch)
	entered := make(chan struct{}, 1)
	s := startChecked(t, fake, time.Second, func(ctx context.Context) error {
		entered <- struct{}{}
		<-ctx.Done() // a healthcheck that hangs until its deadline
		return ctx.Err()
	})
	armed(t, fake, 1)
	fake.Advance(time.Second)
	<-entered
	armed(t, fake, 1) // the check's deadline
	fake.Advance(time.Second)
	err := s.WaitUntilStopped(timeCtx(t))
	if !errors.Is(err, service.ErrUnhealthy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("crash reason %v, want ErrUnhealthy wrapping the deadline", err)
	}
}

func TestMonitoringOffAndDefault(t *testing.T) {
	fake := clock.NewFake(epoch)
	startChecked(t, fake, 0, func(context.Context) error { return errSick })
	// With no hook the default healthcheck is "running": nothing to call.
	startTimed(t, fake, service.Config{MonitoringInterval: time.Second}, nil)
	if p := fake.Pending(); p != 0 {
		t.Fatalf("%d timers armed without monitoring work", p)
	}
}

func TestMonitorConfigNegative(t *testing.T) {
	for _, cfg := range []service.Config{
		{MonitoringInterval: -time.Second},
		{HeartbeatDeadline: -time.Second},
	} {
		s := &timed{}
		cfg.Clock, cfg.Logger = clock.NewFake(epoch), &timeQuiet
		s.Configure(cfg)
		err := service.Start(timeCtx(t), s)
		if !errors.Is(err, service.ErrBadArgument) {
			t.Fatalf("Start with %+v: %v, want ErrBadArgument", cfg, err)
		}
		if st := s.State(); st != service.Init {
			t.Fatalf("state %s after a failed start", st)
		}
	}
}

func TestHeartbeatCrash(t *testing.T) {
	fake := clock.NewFake(epoch)
	s, _ := startTimed(t, fake, service.Config{HeartbeatDeadline: 5 * time.Second}, nil)
	s.Diag().Set("committing")
	armed(t, fake, 1)
	fake.Advance(3 * time.Second)
	s.Heartbeat()
	fake.Advance(2 * time.Second) // the deadline's first check: 2s since the beat
	armed(t, fake, 1)
	wantDeadline(t, fake, epoch.Add(8*time.Second))
	if st := s.State(); st != service.Running {
		t.Fatalf("state %s", st)
	}
	fake.Advance(3 * time.Second)
	err := s.WaitUntilStopped(timeCtx(t))
	if !errors.Is(err, service.ErrHung) {
		t.Fatalf("crash reason %v, want ErrHung", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "no heartbeat for 5s while: committing") {
		t.Fatalf("crash reason %q does not say what the service was doing", msg)
	}
}

func TestHeartbeatKeepsAlive(t *testing.T) {
	fake := clock.NewFake(epoch)
	s, _ := startTimed(t, fake, service.Config{HeartbeatDeadline: 5 * time.Second}, nil)
	for range 10 {
		armed(t, fake, 1)
		fake.Advance(4 * time.Second)
		s.Heartbeat()
	}
	if st := s.State(); st != service.Running {
		t.Fatalf("state %s, want Running", st)
	}
	var off timed
	off.Heartbeat() // no deadline, no run: nothing happens
}
