package service

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzCron feeds arbitrary specs through Cron's registration path (on a
// service that is not started, so it parses and validates fully, then stops
// at ErrNotStarted) and through the fire-time computation around DST
// changes. It must never panic, and every error must be one of the
// documented sentinels. Seed corpus: testdata/fuzz/FuzzCron.
func FuzzCron(f *testing.F) {
	for _, s := range []string{"30 2 * * *", "@hourly", "@every 1h30m", "CRON_TZ=Europe/Berlin 0 3 * * *", "TZ=UTC"} {
		f.Add(s)
	}
	zones := []*time.Location{loadZone(f, "America/Los_Angeles"), loadZone(f, "Europe/Berlin"), time.UTC}
	starts := []time.Time{
		time.Date(2024, 3, 10, 9, 0, 0, 0, time.UTC), time.Date(2024, 11, 3, 8, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 31, 0, 30, 0, 0, time.UTC), time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC),
	}
	fn := func(context.Context) error { return nil }
	f.Fuzz(func(t *testing.T, spec string) {
		var b Base
		err := b.Cron(spec, fn, InLocation(time.UTC))
		if !errors.Is(err, ErrNotStarted) && !errors.Is(err, ErrBadCronSpec) && !errors.Is(err, ErrConflictingOptions) {
			t.Fatalf("Cron(%q) = %v", spec, err)
		}
		for i, loc := range zones {
			p, err := parseCron(spec, loc, false, starts[i])
			if err != nil {
				continue
			}
			last := starts[i]
			for range 5 {
				n := p.next(last)
				if n.IsZero() {
					break
				}
				if !n.After(last) {
					t.Fatalf("%q in %v: next(%v) = %v", spec, loc, last, n)
				}
				last = n
			}
		}
	})
}
