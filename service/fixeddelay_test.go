package service_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// sleepy is a service whose OnStart registers one timer given by the test.
type sleepy struct {
	service.Base
	register func(s *sleepy) error
}

func (s *sleepy) OnStart(context.Context) error { return s.register(s) }

// TestEveryFixedDelay runs Every with and without FixedDelay inside a
// synctest bubble, where the real clock is fake: each call's start is
// recorded as the time since registration, and call i takes run[i].
func TestEveryFixedDelay(t *testing.T) {
	const iv = 10 * time.Second
	sec := func(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }
	tests := []struct {
		name      string
		opts      []service.TimerOption
		run       []time.Duration // how long each call takes (missing: 0)
		want      []time.Duration // when the calls begin
		overlaps  int64
		skipped   int64
		wantStats bool
	}{
		{
			name: "fixed delay, quick runs",
			opts: []service.TimerOption{service.FixedDelay()},
			run:  []time.Duration{sec(1), sec(1), sec(1)},
			want: []time.Duration{sec(10), sec(21), sec(32), sec(43)},
		},
		{
			name: "fixed delay, a slow run is followed by a full delay",
			opts: []service.TimerOption{service.FixedDelay()},
			run:  []time.Duration{0, sec(15), 0},
			want: []time.Duration{sec(10), sec(20), sec(45), sec(55)},
		},
		{
			name: "fixed delay with ExecFirst",
			opts: []service.TimerOption{service.FixedDelay(), service.ExecFirst()},
			run:  []time.Duration{sec(3), 0},
			want: []time.Duration{0, sec(13), sec(23), sec(33)},
		},
		{
			name:     "fixed rate, a slow run is followed at once",
			run:      []time.Duration{0, sec(15), 0},
			want:     []time.Duration{sec(10), sec(20), sec(35), sec(40)},
			overlaps: 1,
		},
		{
			name:     "fixed rate, a run over two slots skips one",
			run:      []time.Duration{0, sec(25), 0},
			want:     []time.Duration{sec(10), sec(20), sec(45), sec(50)},
			overlaps: 1, skipped: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var began []time.Duration
				var t0 time.Time
				fn := func(ctx context.Context) error {
					i := len(began)
					began = append(began, time.Since(t0))
					if i < len(tt.run) && tt.run[i] > 0 {
						select {
						case <-time.After(tt.run[i]):
						case <-ctx.Done():
						}
					}
					return nil
				}
				l := zerolog.Nop()
				s := &sleepy{register: func(s *sleepy) error {
					t0 = time.Now()
					return s.Every(iv, fn, append(tt.opts, service.Named("tick"))...)
				}}
				s.Configure(service.Config{Logger: &l})
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				// Sleep just past the last expected call: the bubble's clock
				// moves only when every goroutine waits, so no call is missed.
				time.Sleep(tt.want[len(tt.want)-1] + time.Second)
				synctest.Wait()
				st := s.Timers()
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(began, tt.want) {
					t.Errorf("calls began at %v, want %v", began, tt.want)
				}
				if len(st) != 1 {
					t.Fatalf("Timers() = %+v", st)
				}
				if got := st[0]; got.Runs != int64(len(tt.want)) || got.Overlaps != tt.overlaps ||
					got.Skipped != tt.skipped || got.Failures != 0 || got.Name != "tick" {
					t.Errorf("stats %+v, want %d runs, %d overlaps, %d skipped", got, len(tt.want), tt.overlaps, tt.skipped)
				}
			})
		})
	}
}

// TestFixedDelayOnCron: FixedDelay is for Every only.
func TestFixedDelayOnCron(t *testing.T) {
	l := zerolog.Nop()
	var err error
	s := &sleepy{register: func(s *sleepy) error {
		err = s.Cron("@hourly", func(context.Context) error { return nil }, service.FixedDelay())
		return nil
	}}
	s.Configure(service.Config{Logger: &l})
	if e := service.Start(context.Background(), s); e != nil {
		t.Fatal(e)
	}
	defer func() { _ = s.Stop(context.Background()) }()
	if !errors.Is(err, service.ErrConflictingOptions) {
		t.Fatalf("Cron with FixedDelay: %v, want ErrConflictingOptions", err)
	}
	if n := len(s.Timers()); n != 0 {
		t.Fatalf("%d timers registered, want 0", n)
	}
}
