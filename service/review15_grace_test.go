package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// TestReview15EarlierGraceBounded: a Stop gives code abandoned earlier in
// the run (a Healthcheck CheckHealth gave up on) a short grace before it
// names it, but that grace is part of the Stop's budget: with a tiny
// StopTimeout, or a ctx whose deadline is near, the Stop does not last
// the full grace. Code still running is named; code that returns during
// the grace is not; nothing leaks.
func TestReview15EarlierGraceBounded(t *testing.T) {
	cases := []struct {
		name    string
		timeout time.Duration // Config.StopTimeout
		ctxDL   time.Duration // Stop's ctx deadline, 0: none
		release time.Duration // the Healthcheck returns this long after Stop began, < 0: after Stop
		maxWall time.Duration // Stop's wall time, at most
		named   bool          // Stop's error names the Healthcheck
	}{
		{"tiny StopTimeout, still running", time.Millisecond, 0, -1, 12 * time.Millisecond, true},
		{"tiny ctx deadline, still running", time.Minute, time.Millisecond, -1, 12 * time.Millisecond, true},
		{"ample budget, still running", time.Minute, 0, -1, 2 * time.Second, true},
		{"ample budget, returning", time.Minute, 0, 0, 2 * time.Second, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gate := make(chan struct{})
			gateOnce := func() {
				select {
				case <-gate:
				default:
					close(gate)
				}
			}
			defer gateOnce()
			p := &probed{check: func(context.Context) error { <-gate; return nil }}
			p.Configure(service.Config{Name: "p", Logger: &quiet, StopTimeout: tc.timeout})
			must(t, service.Start(bg(t), p))
			hctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			if err := service.CheckHealth(hctx, p); err == nil {
				t.Fatal("CheckHealth of a hung Healthcheck passed")
			}
			cancel()
			ctx := context.Background()
			if tc.ctxDL > 0 {
				var c context.CancelFunc
				ctx, c = context.WithTimeout(ctx, tc.ctxDL)
				defer c()
			}
			if tc.release == 0 {
				gateOnce()
			}
			began := time.Now()
			err := p.Stop(ctx)
			took := time.Since(began)
			gateOnce()
			named := err != nil && strings.Contains(err.Error(), "abandoned earlier") && strings.Contains(err.Error(), "Healthcheck")
			if named != tc.named {
				t.Errorf("Stop: %v (named: %v, want %v)", err, named, tc.named)
			}
			if named && !errors.Is(err, service.ErrStopTimeout) {
				t.Errorf("Stop: %v, want ErrStopTimeout", err)
			}
			if took > tc.maxWall {
				t.Errorf("Stop took %v, want at most %v (StopTimeout %v, ctx deadline %v)", took, tc.maxWall, tc.timeout, tc.ctxDL)
			}
		})
	}
}
