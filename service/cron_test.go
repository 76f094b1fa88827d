package service_test

import (
	"context"
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func utc(y int, m time.Month, d, h, mi int) time.Time {
	return time.Date(y, m, d, h, mi, 0, 0, time.UTC)
}

// TestCronDSTFakeClock registers cron jobs through a running service on a
// fake clock and follows their fire times across DST changes in
// America/Los_Angeles and Europe/Berlin: a fixed time in the skipped hour
// runs once right after the jump, one in the repeated hour runs once; and
// across the day Pacific/Apia skipped, whose runs are skipped.
func TestCronDSTFakeClock(t *testing.T) {
	la, berlin := zone(t, "America/Los_Angeles"), zone(t, "Europe/Berlin")
	apia := zone(t, "Pacific/Apia")
	for _, c := range []struct {
		name  string
		start time.Time
		spec  string
		opts  []service.TimerOption
		want  []time.Time // successive fire times
	}{
		{"LA spring-forward", time.Date(2024, 3, 10, 0, 0, 0, 0, la), "30 2 * * *",
			[]service.TimerOption{service.InLocation(la)},
			[]time.Time{utc(2024, 3, 10, 10, 0), utc(2024, 3, 11, 9, 30)}},
		{"LA fall-back", time.Date(2024, 11, 3, 0, 0, 0, 0, la), "30 1 * * *",
			[]service.TimerOption{service.InLocation(la)},
			[]time.Time{utc(2024, 11, 3, 8, 30), utc(2024, 11, 4, 9, 30)}},
		{"Berlin spring-forward", time.Date(2024, 3, 31, 0, 0, 0, 0, berlin), "CRON_TZ=Europe/Berlin 30 2 * * *",
			nil,
			[]time.Time{utc(2024, 3, 31, 1, 0), utc(2024, 4, 1, 0, 30)}},
		{"Berlin fall-back", time.Date(2024, 10, 27, 0, 0, 0, 0, berlin), "30 2 * * *",
			[]service.TimerOption{service.InLocation(berlin)},
			[]time.Time{utc(2024, 10, 27, 0, 30), utc(2024, 10, 28, 1, 30)}},
		// Pacific/Apia jumped from UTC-10 to UTC+14 at the end of Thursday
		// 2011-12-29, skipping Friday 30 December: a whole day is no DST
		// change, its runs are skipped, not run at the jump (on Saturday).
		{"Apia weekly on the skipped Friday", time.Date(2011, 12, 22, 0, 0, 0, 0, apia), "0 12 * * 5",
			[]service.TimerOption{service.InLocation(apia)},
			[]time.Time{utc(2011, 12, 23, 22, 0), utc(2012, 1, 5, 22, 0)}},
		{"Apia daily across the skipped day", time.Date(2011, 12, 29, 0, 0, 0, 0, apia), "CRON_TZ=Pacific/Apia 0 12 * * *",
			nil,
			[]time.Time{utc(2011, 12, 29, 22, 0), utc(2011, 12, 30, 22, 0), utc(2011, 12, 31, 22, 0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake := clock.NewFake(c.start)
			cl := newCalls()
			s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
				return s.Cron(c.spec, cl.fn(fake), c.opts...)
			})
			for _, want := range c.want {
				armed(t, fake, 1)
				wantDeadline(t, fake, want)
				fake.Set(want)
				if at := cl.next(t); !at.Equal(want) {
					t.Fatalf("call at %v, want %v", at, want)
				}
			}
			armed(t, fake, 1)
			cl.none(t)
			if st := onlyTimer(t, s); st.Runs != int64(len(c.want)) || st.Skipped != 0 || st.Drifts != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestCronWallStepBack: the timer sleeps on the monotonic clock, so after
// the wall clock steps back it wakes before the wall time it was due at. It
// must sleep again and fire at that wall time, once, and not run a time it
// served again when the wall clock repeats it.
func TestCronWallStepBack(t *testing.T) {
	fake := clock.NewFake(epoch)
	cl := newCalls()
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Cron("0 12 * * *", cl.fn(fake), service.InLocation(time.UTC))
	})
	noon := epoch.Add(12 * time.Hour)
	armed(t, fake, 1)
	wantDeadline(t, fake, noon)

	fake.StepWall(-time.Hour) // 23:00 the day before; the timer wakes at 11:00
	wantDeadline(t, fake, noon.Add(-time.Hour))
	fake.Set(noon.Add(-time.Hour))
	armed(t, fake, 1)
	cl.none(t)
	wantDeadline(t, fake, noon) // asleep again, to the wall time
	fake.Set(noon)
	if at := cl.next(t); !at.Equal(noon) {
		t.Fatalf("call at %v, want %v", at, noon)
	}

	armed(t, fake, 1)
	fake.StepWall(-time.Hour) // 11:00 again: today's noon is served
	fake.Set(noon)
	armed(t, fake, 1)
	cl.none(t)
	tomorrow := noon.Add(24 * time.Hour)
	wantDeadline(t, fake, tomorrow.Add(-time.Hour)) // woken early, again
	fake.Set(tomorrow.Add(-time.Hour))
	armed(t, fake, 1)
	cl.none(t)
	wantDeadline(t, fake, tomorrow)
	fake.Set(tomorrow)
	if at := cl.next(t); !at.Equal(tomorrow) {
		t.Fatalf("call at %v, want %v", at, tomorrow)
	}
	armed(t, fake, 1)
	cl.none(t)
	if st := onlyTimer(t, s); st.Runs != 2 || st.Skipped != 0 || st.Drifts != 0 {
		t.Fatalf("stats %+v, want 2 runs", st)
	}
}

// TestCronHourlyFallBack: an hourly job on the fall-back day in Los Angeles
// fires 25 times, each hour of elapsed time once.
func TestCronHourlyFallBack(t *testing.T) {
	la := zone(t, "America/Los_Angeles")
	start := time.Date(2024, 11, 3, 0, 0, 0, 0, la).Add(-time.Second)
	end := time.Date(2024, 11, 4, 0, 0, 0, 0, la).Add(-time.Second)
	fake := clock.NewFake(start)
	cl := newCalls()
	startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Cron("@hourly", cl.fn(fake), service.InLocation(la))
	})
	var prev time.Time
	n := 0
	for {
		armed(t, fake, 1)
		dl, _ := fake.NextDeadline()
		if dl.After(end) {
			break
		}
		fake.Set(dl)
		at := cl.next(t)
		if !prev.IsZero() && at.Sub(prev) != time.Hour {
			t.Fatalf("fire at %v, %v after the previous one", at, at.Sub(prev))
		}
		prev = at
		n++
	}
	if n != 25 {
		t.Fatalf("%d fires on the fall-back day, want 25", n)
	}
}

// TestCronStallSkips: a stall over several fire times runs the job once and
// counts the others as skipped.
func TestCronStallSkips(t *testing.T) {
	fake := clock.NewFake(epoch)
	cl := newCalls()
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Cron("*/5 * * * *", cl.fn(fake), service.InLocation(time.UTC), service.Named("five"))
	})
	armed(t, fake, 1)
	fake.Advance(31 * time.Minute) // fire times 5, 10, ..., 30 passed
	if at := cl.next(t); !at.Equal(epoch.Add(31 * time.Minute)) {
		t.Fatalf("call at %v", at)
	}
	armed(t, fake, 1)
	cl.none(t)
	wantDeadline(t, fake, epoch.Add(35*time.Minute))
	if st := onlyTimer(t, s); st.Skipped != 5 || st.Runs != 1 || st.Drifts != 1 {
		t.Fatalf("stats %+v, want 5 skipped, 1 run, 1 drift", st)
	}
	if s.Diag().Has("five") {
		t.Fatal("diag flag left set between runs")
	}
}

// TestCronEvery: "@every" is elapsed time, fixed-rate from registration.
func TestCronEvery(t *testing.T) {
	fake := clock.NewFake(epoch)
	cl := newCalls()
	startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Cron("@every 1h30m", cl.fn(fake))
	})
	for i := 1; i <= 3; i++ {
		armed(t, fake, 1)
		want := epoch.Add(time.Duration(i) * 90 * time.Minute)
		wantDeadline(t, fake, want)
		fake.Set(want)
		cl.next(t)
	}
}

// stopHook registers timers from OnStop, when the service is stopping.
type stopHook struct {
	service.Base
	got []error
}

func (s *stopHook) OnStop(context.Context) error {
	nop := func(context.Context) error { return nil }
	s.got = append(s.got, s.Every(time.Second, nop), s.Cron("* * * * *", nop))
	return nil
}

func TestTimerBadInput(t *testing.T) {
	nop := func(context.Context) error { return nil }
	fake := clock.NewFake(epoch)
	s, _ := startTimed(t, fake, service.Config{}, nil)
	armedBefore := fake.Pending()
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"zero interval", s.Every(0, nop), service.ErrBadArgument},
		{"negative interval", s.Every(-time.Second, nop), service.ErrBadArgument},
		{"nil fn", s.Every(time.Second, nil), service.ErrBadArgument},
		{"zero workers", s.Every(time.Second, nop, service.Workers(0)), service.ErrBadArgument},
		{"negative workers", s.Every(time.Second, nop, service.Workers(-2)), service.ErrBadArgument},
		{"empty name", s.Every(time.Second, nop, service.Named("")), service.ErrBadArgument},
		{"In on Every", s.Every(time.Second, nop, service.InLocation(time.UTC)), service.ErrConflictingOptions},
		{"empty spec", s.Cron("", nop), service.ErrBadCronSpec},
		{"malformed spec", s.Cron("* * *", nop), service.ErrBadCronSpec},
		{"bad zone", s.Cron("CRON_TZ=Mars/Olympus 0 0 * * *", nop), service.ErrBadCronSpec},
		{"cron nil fn", s.Cron("@hourly", nil), service.ErrBadArgument},
		{"nil location", s.Cron("@hourly", nop, service.InLocation(nil)), service.ErrBadArgument},
		{"zone twice", s.Cron("CRON_TZ=UTC @hourly", nop, service.InLocation(time.UTC)), service.ErrConflictingOptions},
		{"cron zero workers", s.Cron("@hourly", nop, service.Workers(0)), service.ErrBadArgument},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	if len(s.Timers()) != 0 || fake.Pending() != armedBefore {
		t.Fatalf("bad input started something: %+v, %d armed", s.Timers(), fake.Pending())
	}

	var idle timed // never started
	if err := idle.Every(time.Second, nop); !errors.Is(err, service.ErrNotStarted) {
		t.Errorf("Every on Init: %v", err)
	}
	if err := idle.Cron("@hourly", nop); !errors.Is(err, service.ErrNotStarted) {
		t.Errorf("Cron on Init: %v", err)
	}
	stopping := &stopHook{}
	stopping.Configure(service.Config{Clock: clock.NewFake(epoch), Logger: &timeQuiet})
	if err := service.Start(timeCtx(t), stopping); err != nil {
		t.Fatal(err)
	}
	if err := stopping.Stop(timeCtx(t)); err != nil {
		t.Fatal(err)
	}
	for i, err := range stopping.got {
		if !errors.Is(err, service.ErrStopping) {
			t.Errorf("registration %d while stopping: %v, want ErrStopping", i, err)
		}
	}
	if err := stopping.Every(time.Second, nop); !errors.Is(err, service.ErrNotStarted) {
		t.Errorf("Every after Stop: %v, want ErrNotStarted", err)
	}
}
