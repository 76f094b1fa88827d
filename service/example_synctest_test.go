package service_test

// This file shows how to test your own services without sleeping, with
// the standard library's testing/synctest (Go 1.25+). Copy it.
//
// Inside synctest.Test, time is fake: time.Now, time.Sleep, timers and
// context deadlines all read the bubble's clock, which starts at
// 2000-01-01 00:00 UTC and jumps ahead whenever every goroutine of the
// bubble is blocked. mode's Every, Cron, Ticks, Sleep, stop budgets,
// heartbeat deadlines, health monitoring and a supervisor's backoff and
// intensity window read that same clock when Config.Clock is nil (the
// default), so a test that covers an hour of a service's life runs in
// milliseconds. Start and stop everything inside the bubble: Stop joins
// every goroutine the service started, and synctest.Test waits for them.

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// Report is a service with a nightly job: at 02:30, Berlin time.
type Report struct {
	service.Base
	runs []time.Time // read once the service has stopped
}

func (r *Report) OnStart(ctx context.Context) error {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return err
	}
	return r.Cron("30 2 * * *", func(ctx context.Context) error {
		r.runs = append(r.runs, time.Now())
		return nil
	}, service.InLocation(berlin))
}

// TestExampleCronJobInTimeZone checks a nightly cron job over three days,
// across the night Berlin's clocks go forward (2000-03-26, when 02:30 does
// not exist and the job runs once, right after the jump), in a few
// milliseconds.
func TestExampleCronJobInTimeZone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		berlin, err := time.LoadLocation("Europe/Berlin")
		if err != nil {
			t.Skip(err)
		}
		// The bubble starts on 2000-01-01 UTC: move to the day before.
		time.Sleep(time.Until(time.Date(2000, 3, 25, 0, 0, 0, 0, berlin)))

		nop := zerolog.Nop()
		r := &Report{}
		r.Configure(service.Config{Logger: &nop})
		if err := service.Start(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		time.Sleep(72 * time.Hour) // returns at once: fake time
		if err := r.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}

		want := []string{"2000-03-25 02:30 CET", "2000-03-26 03:00 CEST", "2000-03-27 02:30 CEST"}
		if len(r.runs) != len(want) {
			t.Fatalf("%d runs, want %d: %v", len(r.runs), len(want), r.runs)
		}
		for i, at := range r.runs {
			if got := at.In(berlin).Format("2006-01-02 15:04 MST"); got != want[i] {
				t.Errorf("run %d at %s, want %s", i, got, want[i])
			}
		}
	})
}

// TestExampleSupervisorBackoff checks that a worker that keeps failing is
// restarted after 1s, 2s, 4s, then every 5s (Backoff's Max), without
// waiting for any of it.
func TestExampleSupervisorBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		nop := zerolog.Nop()
		start := time.Now()
		var began []time.Duration
		worker := service.Func("worker", func(ctx context.Context) error {
			began = append(began, time.Since(start))
			return errors.New("cannot connect")
		})
		worker.Configure(service.Config{Name: "worker", Logger: &nop})
		sup := supervisor.New(supervisor.Spec{
			Service:     service.Config{Logger: &nop},
			MaxRestarts: 10, Window: time.Minute,
			Backoff: strategy.Backoff{Min: time.Second, Max: 5 * time.Second, Factor: 2, NoJitter: true},
		})
		if err := sup.Add(t.Context(), worker); err != nil {
			t.Fatal(err)
		}
		if err := service.Start(t.Context(), sup); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait() // let the restart due now finish its run
		if err := sup.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}

		want := []time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 12 * time.Second, 17 * time.Second}
		if len(began) != len(want) {
			t.Fatalf("runs began at %v, want %v", began, want)
		}
		for i := range want {
			if began[i] != want[i] {
				t.Errorf("run %d began at %v, want %v", i, began[i], want[i])
			}
		}
	})
}
