package service_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// TestFixedDelayEdges: a fixed-delay timer whose calls fail, panic, or
// outlast many intervals, with ExecFirst, Workers and ContinueOnError, and
// a Stop that lands during a call; in a synctest bubble. Call i does
// what step[i] says (missing: returns nil at once).
func TestFixedDelayEdges(t *testing.T) {
	const iv = 10 * time.Second
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	type step struct {
		took  time.Duration
		err   bool
		panic bool
	}
	tests := []struct {
		name      string
		opts      []service.TimerOption
		steps     []step
		stopAt    time.Duration   // when the test stops the service
		want      []time.Duration // when the calls begin
		failures  int64
		running   int  // calls still running at stopAt (not counted yet)
		crashed   bool // the service crashed before stopAt
		stopError bool // Stop returns an error
	}{
		{
			name:     "ExecFirst, failures continue",
			opts:     []service.TimerOption{service.ExecFirst(), service.ContinueOnError()},
			steps:    []step{{err: true}, {panic: true, took: s(2)}, {err: true}},
			stopAt:   s(35),
			want:     []time.Duration{0, s(10), s(22), s(32)},
			failures: 3,
		},
		{
			name:     "a panic crashes without ContinueOnError",
			opts:     []service.TimerOption{service.ExecFirst()},
			steps:    []step{{}, {panic: true}},
			stopAt:   s(60),
			want:     []time.Duration{0, s(10)},
			failures: 1, crashed: true,
		},
		{
			name:   "a call over many intervals: no burst, no skip",
			steps:  []step{{took: s(95)}},
			stopAt: s(130),
			want:   []time.Duration{s(10), s(115), s(125)},
		},
		{
			name:   "two workers keep their own delay",
			opts:   []service.TimerOption{service.Workers(2), service.ExecFirst()},
			steps:  []step{{took: s(5)}},
			stopAt: s(25),
			want:   []time.Duration{0, 0, s(10), s(15), s(20), s(25)},
		},
		{
			name:    "Stop during a call cancels it",
			steps:   []step{{took: time.Hour}},
			stopAt:  s(20),
			want:    []time.Duration{s(10)},
			running: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex // Workers(2) calls fn concurrently
				var began []time.Duration
				t0 := time.Now()
				fn := func(ctx context.Context) error {
					mu.Lock()
					i := len(began)
					began = append(began, time.Since(t0))
					mu.Unlock()
					var st step
					if i < len(tt.steps) {
						st = tt.steps[i]
					}
					if st.took > 0 {
						select {
						case <-time.After(st.took):
						case <-ctx.Done():
							return nil
						}
					}
					if st.panic {
						panic("boom")
					}
					if st.err {
						return errors.New("failed")
					}
					return nil
				}
				l := zerolog.Nop()
				sv := &sleepy{register: func(sv *sleepy) error {
					return sv.Every(iv, fn, append(tt.opts, service.FixedDelay())...)
				}}
				sv.Configure(service.Config{Logger: &l})
				if err := service.Start(t.Context(), sv); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.stopAt)
				synctest.Wait()
				st := sv.Timers()
				if got := sv.State() == service.Crashed; got != tt.crashed {
					t.Errorf("crashed %v, want %v (state %v)", got, tt.crashed, sv.State())
				}
				err := sv.Stop(context.Background())
				if err != nil && !tt.crashed {
					t.Errorf("Stop: %v", err)
				}
				if !slices.Equal(began, tt.want) {
					t.Errorf("calls began at %v, want %v", began, tt.want)
				}
				if tt.crashed {
					return // a crashed run's timers are gone with it
				}
				if len(st) != 1 || st[0].Runs != int64(len(tt.want)-tt.running) ||
					st[0].Failures != tt.failures || st[0].Skipped != 0 || st[0].Overlaps != 0 {
					t.Errorf("Timers() = %+v, want %d calls, %d failures, nothing skipped or overlapping", st, len(tt.want), tt.failures)
				}
			})
		})
	}
}
