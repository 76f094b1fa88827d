package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

// Abandoned's Since and For read the service's clock: a fake one that
// does not move keeps For at zero, and moving it moves For.
func TestAbandonedForOnFakeClock(t *testing.T) {
	clk := clock.NewFake(t0)
	gate := make(chan struct{})
	p := &probed{check: func(context.Context) error { <-gate; return nil }}
	p.Configure(service.Config{Logger: &quiet, Clock: clk})
	if err := service.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := service.CheckHealth(ctx, p); err == nil {
		t.Fatal("CheckHealth of a hung Healthcheck passed")
	}
	for _, tc := range []struct {
		advance time.Duration
		want    time.Duration
	}{{0, 0}, {90 * time.Second, 90 * time.Second}, {time.Hour, time.Hour + 90*time.Second}} {
		clk.Advance(tc.advance)
		got := service.Abandoned(p)
		if len(got) != 1 || !got[0].Probe || !got[0].Since.Equal(t0) || got[0].For != tc.want {
			t.Errorf("after %v more: %+v, want one probe's, since %v, for %v", tc.advance, got, t0, tc.want)
		}
	}
	close(gate)
	deadline := time.Now().Add(10 * time.Second)
	for service.Abandoned(p) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the Healthcheck returned but is still listed")
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
