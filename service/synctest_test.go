package service_test

// The tests in this file run inside a testing/synctest bubble, with no
// Config.Clock: the library's real clock reads time.Now and makes
// time.Timers, which the bubble fakes. They are the promise that users can
// test their own services the same way (see example_synctest_test.go):
// nothing in the library reads a clock a bubble cannot fake, and nothing
// it starts lives outside the bubble.

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
)

// TestSynctestCronAcrossDST runs Cron jobs in Europe/Berlin across both
// daylight-saving changes of 2000 (the bubble's clock starts on
// 2000-01-01 UTC) and checks every fire time.
func TestSynctestCronAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	utc := func(mo time.Month, d, h, mi int) time.Time { return time.Date(2000, mo, d, h, mi, 0, 0, time.UTC) }
	tests := []struct {
		name        string
		spec        string
		from, until time.Time   // registration, end of the test (UTC)
		want        []time.Time // every fire time (UTC); nil: see perDay
		perDay      int         // fires on the local day of the change
		day         time.Time   // that day, local
	}{
		{
			name: "spring forward: 02:30 does not exist, runs once at the jump",
			spec: "30 2 * * *", from: utc(3, 25, 0, 0), until: utc(3, 28, 0, 0),
			want: []time.Time{utc(3, 25, 1, 30), utc(3, 26, 1, 0), utc(3, 27, 0, 30)},
		},
		{
			name: "fall back: 02:30 happens twice, runs once",
			spec: "30 2 * * *", from: utc(10, 28, 0, 0), until: utc(10, 31, 0, 0),
			want: []time.Time{utc(10, 28, 0, 30), utc(10, 29, 0, 30), utc(10, 30, 1, 30)},
		},
		{
			name: "hourly on the spring day: 23 runs",
			spec: "@hourly", from: utc(3, 25, 0, 0), until: utc(3, 28, 0, 0),
			perDay: 23, day: time.Date(2000, 3, 26, 0, 0, 0, 0, berlin),
		},
		{
			name: "hourly on the autumn day: 25 runs",
			spec: "@hourly", from: utc(10, 28, 0, 0), until: utc(10, 31, 0, 0),
			perDay: 25, day: time.Date(2000, 10, 29, 0, 0, 0, 0, berlin),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				time.Sleep(tt.from.Sub(time.Now()))
				var fired []time.Time
				s := &sleepy{register: func(s *sleepy) error {
					return s.Cron(tt.spec, func(context.Context) error {
						fired = append(fired, time.Now().UTC())
						return nil
					}, service.InLocation(berlin))
				}}
				s.Configure(service.Config{Logger: &quiet})
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(tt.until.Sub(time.Now()))
				synctest.Wait()
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				if tt.want != nil {
					if !slices.EqualFunc(fired, tt.want, time.Time.Equal) {
						t.Fatalf("fired at %v, want %v", fired, tt.want)
					}
					return
				}
				n := 0
				for _, f := range fired {
					if y, m, d := f.In(berlin).Date(); y == tt.day.Year() && m == tt.day.Month() && d == tt.day.Day() {
						n++
					}
				}
				if n != tt.perDay {
					t.Fatalf("%d runs on %v, want %d (all: %v)", n, tt.day.Format(time.DateOnly), tt.perDay, fired)
				}
			})
		})
	}
}

// beating calls Heartbeat every second until told to stop beating.
type beating struct {
	service.Base
	stop chan struct{}
	last atomic.Int64 // UnixNano of the last beat
}

func (b *beating) OnStart(context.Context) error {
	return b.Go("loop", func(ctx context.Context) error {
		for {
			b.Heartbeat()
			b.last.Store(time.Now().UnixNano())
			select {
			case <-b.stop: // hang: no more beats, until the run ends
				<-ctx.Done()
				return nil
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	})
}

// TestSynctestHeartbeatDeadline: a service whose loop stops beating
// crashes with ErrHung one deadline after its last beat, in fake time.
func TestSynctestHeartbeatDeadline(t *testing.T) {
	for _, deadline := range []time.Duration{5 * time.Second, time.Minute} {
		t.Run(deadline.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := &beating{stop: make(chan struct{})}
				b.Configure(service.Config{Logger: &quiet, HeartbeatDeadline: deadline})
				if err := service.Start(t.Context(), b); err != nil {
					t.Fatal(err)
				}
				time.Sleep(3 * deadline) // beating: no crash
				if st := b.State(); st != service.Running {
					t.Fatalf("state %v while beating, want Running", st)
				}
				close(b.stop)
				<-b.Done()
				hungFor := time.Since(time.Unix(0, b.last.Load()))
				if err := b.CrashReason(); !errors.Is(err, service.ErrHung) {
					t.Fatalf("crash reason %v, want ErrHung", err)
				}
				if hungFor < deadline || hungFor > deadline+time.Second {
					t.Fatalf("crashed %v after the last beat, want %v", hungFor, deadline)
				}
				if err := b.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// hung is a service whose OnStop blocks until released.
type hung struct {
	service.Base
	release chan struct{}
}

func (h *hung) OnStop(context.Context) error { <-h.release; return nil }

// TestSynctestStopBudget: a hung OnStop is abandoned when the stop budget
// (StopTimeout, or an earlier deadline on Stop's ctx) ends, in fake time,
// and Stop names it with ErrStopTimeout.
func TestSynctestStopBudget(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // Config.StopTimeout
		ctx     time.Duration // deadline of Stop's ctx (0: none)
		want    time.Duration
	}{
		{"default budget", 0, 0, service.DefaultStopTimeout},
		{"StopTimeout", 3 * time.Second, 0, 3 * time.Second},
		{"ctx deadline first", time.Minute, 2 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &hung{release: make(chan struct{})}
				h.Configure(service.Config{Logger: &quiet, StopTimeout: tt.timeout})
				if err := service.Start(t.Context(), h); err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if tt.ctx > 0 {
					c, cancel := context.WithTimeout(ctx, tt.ctx)
					defer cancel()
					ctx = c
				}
				began := time.Now()
				err := h.Stop(ctx)
				took := time.Since(began)
				if !errors.Is(err, service.ErrStopTimeout) {
					t.Fatalf("Stop: %v, want ErrStopTimeout", err)
				}
				if took < tt.want || took > tt.want+time.Second {
					t.Fatalf("Stop took %v, want %v", took, tt.want)
				}
				if st := h.State(); st != service.Shutdown {
					t.Fatalf("state %v, want Shutdown", st)
				}
				close(h.release) // the abandoned OnStop returns: the bubble can end
				synctest.Wait()
			})
		})
	}
}
