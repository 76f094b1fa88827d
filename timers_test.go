package mode_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// sick is a service whose healthcheck fails while unhealthy is set; it
// never calls Heartbeat.
type sick struct {
	service.Base
	unhealthy bool
}

func (s *sick) Healthcheck(context.Context) error {
	if s.unhealthy {
		return errors.New("queue depth 9000")
	}
	return nil
}

var _ service.Healthchecker = (*sick)(nil)

// Time-driven crashes take the same wakeup path as any other: a failed
// healthcheck (ErrUnhealthy), a missed heartbeat (ErrHung) and a failing
// Every each make the supervisor restart the service.
func TestTimeDrivenCrashesRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   service.Config
		setup func(t *testing.T, s *sick)
		want  error
	}{
		{"healthcheck", service.Config{MonitoringInterval: time.Second},
			func(t *testing.T, s *sick) { s.unhealthy = true }, service.ErrUnhealthy},
		{"heartbeat", service.Config{HeartbeatDeadline: time.Second},
			func(t *testing.T, s *sick) {}, service.ErrHung},
		{"every", service.Config{},
			func(t *testing.T, s *sick) {
				must(t, s.Every(time.Second, func(context.Context) error { return errBoom }, service.Named("flush")))
			}, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			clk := clock.NewFake(time.Unix(0, 0))
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{Service: service.Config{Clock: clk}})
			s := &sick{}
			cfg := tc.cfg
			cfg.Name, cfg.Logger, cfg.Clock = "sick", &quiet, clk
			s.Configure(cfg)
			must(t, sup.Add(context.Background(), s))
			must(t, service.Start(ctx, sup))
			tc.setup(t, s)
			must(t, clk.BlockUntil(ctx, 1))
			clk.Advance(time.Second)
			got := ev.wait(t, "sup", supervisor.ChildCrashed, "sick", 1)
			if !errors.Is(got[0].Reason, tc.want) {
				t.Fatalf("reason %v, want %v", got[0].Reason, tc.want)
			}
			ev.wait(t, "sup", supervisor.ChildRestarted, "sick", 1)
			if s.State() != service.Running || s.RestartCount() != 1 {
				t.Fatalf("after restart: %v, RestartCount %d", s.State(), s.RestartCount())
			}
			s.unhealthy = false
			must(t, sup.Stop(ctx))
		})
	}
}
