package service

import (
	"errors"
	"math/rand"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo
)

func loadZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func cronPlanFor(t testing.TB, spec string, loc *time.Location, now time.Time) *cronPlan {
	t.Helper()
	p, err := parseCron(spec, loc, true, now)
	if err != nil {
		t.Fatalf("parseCron(%q): %v", spec, err)
	}
	cp, ok := p.(*cronPlan)
	if !ok {
		t.Fatalf("parseCron(%q): %T, want *cronPlan", spec, p)
	}
	return cp
}

// firesBetween lists the fire times in (from, to], in UTC, "15:04" style
// with the date.
func firesBetween(p *cronPlan, from, to time.Time) []string {
	var out []string
	for t := p.next(from); !t.IsZero() && !t.After(to); t = p.next(t) {
		out = append(out, t.UTC().Format("01-02T15:04Z"))
		if len(out) > 1000 {
			break
		}
	}
	return out
}

// TestCronNextDST checks fire times across the spring-forward and fall-back
// days of 2024 in America/Los_Angeles (02:00 PST → 03:00 PDT on 10 March,
// 02:00 PDT → 01:00 PST on 3 November) and Europe/Berlin (02:00 CET → 03:00
// CEST on 31 March, 03:00 CEST → 02:00 CET on 27 October).
func TestCronNextDST(t *testing.T) {
	la, berlin := loadZone(t, "America/Los_Angeles"), loadZone(t, "Europe/Berlin")
	day := func(loc *time.Location, m time.Month, d int) (time.Time, time.Time) {
		from := time.Date(2024, m, d, 0, 0, 0, 0, loc).Add(-time.Minute)
		return from, time.Date(2024, m, d+1, 23, 59, 0, 0, loc)
	}
	cases := []struct {
		name string
		loc  *time.Location
		spec string
		m    time.Month
		d    int
		want string // fire times over that day and the next, UTC
	}{
		// A fixed time inside the skipped hour runs once, at the jump.
		{"LA spring fixed in gap", la, "30 2 * * *", time.March, 10, "03-10T10:00Z 03-11T09:30Z"},
		{"LA spring gap collapses", la, "*/20 2 * * *", time.March, 10, "03-10T10:00Z 03-11T09:00Z 03-11T09:20Z 03-11T09:40Z"},
		{"LA spring fixed outside gap", la, "30 3 * * *", time.March, 10, "03-10T10:30Z 03-11T10:30Z"},
		{"Berlin spring fixed in gap", berlin, "30 2 * * *", time.March, 31, "03-31T01:00Z 04-01T00:30Z"},
		{"Berlin spring daily", berlin, "@daily", time.March, 31, "03-30T23:00Z 03-31T22:00Z"},
		// A fixed time inside the repeated hour runs once, in its first copy.
		{"LA fall fixed in repeat", la, "30 1 * * *", time.November, 3, "11-03T08:30Z 11-04T09:30Z"},
		{"Berlin fall fixed in repeat", berlin, "30 2 * * *", time.October, 27, "10-27T00:30Z 10-28T01:30Z"},
		{"Berlin fall every 20 in fixed hour", berlin, "*/20 2 * * *", time.October, 27,
			"10-27T00:00Z 10-27T00:20Z 10-27T00:40Z 10-28T01:00Z 10-28T01:20Z 10-28T01:40Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			from, to := day(c.loc, c.m, c.d)
			p := cronPlanFor(t, c.spec, c.loc, from)
			if got := strings.Join(firesBetween(p, from, to), " "); got != c.want {
				t.Errorf("%s in %v:\n got %s\nwant %s", c.spec, c.loc, got, c.want)
			}
		})
	}
}

// TestCronNextLongJump: the skipped-hour rule (a fixed time inside the gap
// runs once at the jump) applies to jumps under 3h only. A zone moving its
// offset by a day (Pacific/Apia skipping Friday 2011-12-30, Pacific/Kwajalein
// skipping Saturday 1993-08-21) skips the runs of the missing day rather than
// running them at the jump, on the next day.
func TestCronNextLongJump(t *testing.T) {
	apia, kwaj := loadZone(t, "Pacific/Apia"), loadZone(t, "Pacific/Kwajalein")
	troll := loadZone(t, "Antarctica/Troll") // +00 → +02 at 01:00Z, 2024-03-31
	for _, c := range []struct {
		name     string
		loc      *time.Location
		spec     string
		from, to time.Time
		want     string // UTC
	}{
		{"Apia weekly Friday", apia, "0 12 * * 5",
			time.Date(2011, 12, 22, 0, 0, 0, 0, apia), time.Date(2012, 1, 7, 0, 0, 0, 0, apia),
			"12-23T22:00Z 01-05T22:00Z"},
		{"Apia daily noon", apia, "0 12 * * *",
			time.Date(2011, 12, 29, 0, 0, 0, 0, apia), time.Date(2012, 1, 1, 0, 0, 0, 0, apia),
			"12-29T22:00Z 12-30T22:00Z"},
		{"Apia daily just after midnight", apia, "30 0 * * *",
			time.Date(2011, 12, 29, 0, 0, 0, 0, apia), time.Date(2012, 1, 1, 0, 0, 0, 0, apia),
			"12-29T10:30Z 12-30T10:30Z"},
		{"Apia @daily", apia, "@daily",
			time.Date(2011, 12, 28, 12, 0, 0, 0, apia), time.Date(2012, 1, 1, 12, 0, 0, 0, apia),
			"12-29T10:00Z 12-30T10:00Z 12-31T10:00Z"},
		{"Kwajalein weekly Saturday", kwaj, "0 9 * * 6",
			time.Date(1993, 8, 13, 0, 0, 0, 0, kwaj), time.Date(1993, 8, 29, 0, 0, 0, 0, kwaj),
			"08-14T21:00Z 08-27T21:00Z"},
		{"Troll 2h gap still runs at the jump", troll, "30 1 * * *",
			time.Date(2024, 3, 30, 12, 0, 0, 0, time.UTC), time.Date(2024, 4, 1, 12, 0, 0, 0, time.UTC),
			"03-31T01:00Z 03-31T23:30Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := cronPlanFor(t, c.spec, c.loc, c.from)
			if got := strings.Join(firesBetween(p, c.from, c.to), " "); got != c.want {
				t.Errorf("%s in %v:\n got %s\nwant %s", c.spec, c.loc, got, c.want)
			}
		})
	}
}

// TestCronNextJumpBoundary: in a made-up zone jumping from UTC to UTC+J at
// 2024-06-01 00:00Z, "30 1 * * *" (01:30, inside the gap for J over 1h30)
// runs at the jump for J under 3h and is skipped for J of 3h or more.
func TestCronNextJumpBoundary(t *testing.T) {
	jump := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	from := jump.Add(-time.Hour)
	for _, c := range []struct {
		j    time.Duration
		want time.Time
	}{
		{2*time.Hour + 59*time.Minute, jump},
		{3 * time.Hour, time.Date(2024, 6, 1, 22, 30, 0, 0, time.UTC)},  // 06-02 01:30 +03
		{24 * time.Hour, time.Date(2024, 6, 1, 1, 30, 0, 0, time.UTC)},  // 06-02 01:30 +24
		{30 * time.Minute, time.Date(2024, 6, 1, 1, 0, 0, 0, time.UTC)}, // 01:30 exists: +00:30
	} {
		loc := jumpZone(t, jump, c.j)
		p := cronPlanFor(t, "30 1 * * *", loc, from)
		if got := p.next(from); !got.Equal(c.want) {
			t.Errorf("jump %v: next %v, want %v", c.j, got.UTC(), c.want)
		}
	}
}

// jumpZone returns a zone at UTC until at, then at UTC+j, built as TZif
// version 1 data.
func jumpZone(t *testing.T, at time.Time, j time.Duration) *time.Location {
	t.Helper()
	be := func(v int32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	data := append([]byte("TZif"), make([]byte, 16)...) // version 1, reserved
	for _, n := range []int32{0, 0, 0, 1, 2, 8} {       // isut, isstd, leap, time, type, char counts
		data = append(data, be(n)...)
	}
	data = append(data, be(int32(at.Unix()))...)
	data = append(data, 1)                                         // the transition's type
	data = append(data, append(be(0), 0, 0)...)                    // type 0: UTC, "AAA"
	data = append(data, append(be(int32(j/time.Second)), 0, 4)...) // type 1: UTC+j, "BBB"
	data = append(data, "AAA\x00BBB\x00"...)
	loc, err := time.LoadLocationFromTZData("Jump", data)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestCronHourlyElapsed: a job on every hour follows elapsed time: 23 fires
// on a spring-forward day, 25 on a fall-back day, none twice, none in the gap.
func TestCronHourlyElapsed(t *testing.T) {
	for _, c := range []struct {
		zone string
		m    time.Month
		d    int
		want int
	}{
		{"America/Los_Angeles", time.March, 10, 23},
		{"America/Los_Angeles", time.November, 3, 25},
		{"Europe/Berlin", time.March, 31, 23},
		{"Europe/Berlin", time.October, 27, 25},
		{"Europe/Berlin", time.June, 1, 24},
	} {
		loc := loadZone(t, c.zone)
		from := time.Date(2024, c.m, c.d, 0, 0, 0, 0, loc).Add(-time.Second)
		to := time.Date(2024, c.m, c.d+1, 0, 0, 0, 0, loc).Add(-time.Second)
		for _, spec := range []string{"@hourly", "0 * * * *"} {
			p := cronPlanFor(t, spec, loc, from)
			got := firesBetween(p, from, to)
			if len(got) != c.want {
				t.Errorf("%s %s %v %d: %d fires, want %d: %v", spec, c.zone, c.m, c.d, len(got), c.want, got)
			}
			for i := 1; i < len(got); i++ {
				if got[i] == got[i-1] {
					t.Errorf("%s: %s fires twice", spec, got[i])
				}
			}
		}
	}
}

// TestCronNextFromSecondCopy: asked from inside the second copy of a
// repeated hour, a fixed-time job does not fire again that day.
func TestCronNextFromSecondCopy(t *testing.T) {
	la := loadZone(t, "America/Los_Angeles")
	p := cronPlanFor(t, "15 1 * * *", la, time.Date(2024, 11, 1, 0, 0, 0, 0, la))
	secondCopy := time.Date(2024, 11, 3, 9, 5, 0, 0, time.UTC) // 01:05 PST
	want := time.Date(2024, 11, 4, 9, 15, 0, 0, time.UTC)      // next day 01:15 PST
	if got := p.next(secondCopy); !got.Equal(want) {
		t.Fatalf("next(%v) = %v, want %v", secondCopy, got.UTC(), want)
	}
	hourly := cronPlanFor(t, "15 * * * *", la, time.Date(2024, 11, 1, 0, 0, 0, 0, la))
	firstCopy := time.Date(2024, 11, 3, 8, 20, 0, 0, time.UTC) // 01:20 PDT
	want = time.Date(2024, 11, 3, 9, 15, 0, 0, time.UTC)       // 01:15 PST
	if got := hourly.next(firstCopy); !got.Equal(want) {
		t.Fatalf("hourly next(%v) = %v, want %v", firstCopy, got.UTC(), want)
	}
}

// TestCronPlanProperty: for random specs, zones and wakes around DST
// changes, the served fire times strictly increase (never one twice) and
// never fall behind the wake by a whole period.
func TestCronPlanProperty(t *testing.T) {
	specs := []string{"*/7 * * * *", "0 * * * *", "30 2 * * *", "*/20 1-3 * * *", "15 1 * * 0", "@daily"}
	zones := []*time.Location{loadZone(t, "America/Los_Angeles"), loadZone(t, "Europe/Berlin"), time.UTC}
	starts := []time.Time{
		time.Date(2024, 3, 9, 20, 0, 0, 0, time.UTC), time.Date(2024, 3, 30, 20, 0, 0, 0, time.UTC),
		time.Date(2024, 10, 26, 20, 0, 0, 0, time.UTC), time.Date(2024, 11, 2, 20, 0, 0, 0, time.UTC),
	}
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		spec, loc := specs[rng.Intn(len(specs))], zones[rng.Intn(len(zones))]
		start := starts[rng.Intn(len(starts))]
		p := cronPlanFor(t, spec, loc, start)
		last, now := start, start
		for range 200 {
			due := p.next(last)
			if !due.After(last) {
				t.Fatalf("seed %d %s: next(%v) = %v, not after", seed, spec, last, due)
			}
			wake := due
			if now.After(wake) {
				wake = now
			}
			wake = wake.Add(time.Duration(rng.Int63n(int64(90 * time.Minute))))
			served, skipped := p.catchUp(due, wake)
			if !served.After(last) || served.After(wake) || skipped < 0 {
				t.Fatalf("seed %d %s: catchUp(%v, %v) = %v, %d after last %v", seed, spec, due, wake, served, skipped, last)
			}
			if n := p.next(served); !n.After(wake) {
				t.Fatalf("seed %d %s: served %v but %v ≤ wake %v was due too", seed, spec, served, n, wake)
			}
			last, now = served, wake.Add(time.Duration(rng.Int63n(int64(10*time.Minute))))
		}
	}
}

func TestParseCronErrors(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		spec   string
		locSet bool
		want   error
	}{
		{"", false, ErrBadCronSpec},
		{"   ", false, ErrBadCronSpec},
		{"* * *", false, ErrBadCronSpec},
		{"61 * * * *", false, ErrBadCronSpec},
		{"@fortnightly", false, ErrBadCronSpec},
		{"@every nonsense", false, ErrBadCronSpec},
		{"0 0 30 2 *", false, ErrBadCronSpec}, // never fires
		{"TZ=UTC", false, ErrBadCronSpec},     // robfig's parser would panic on this
		{"CRON_TZ=Nowhere/Land * * * * *", false, ErrBadCronSpec},
		{"CRON_TZ= * * * * *", false, ErrBadCronSpec},
		{"TZ=UTC TZ=UTC * * * * *", false, ErrBadCronSpec},
		{"CRON_TZ=UTC * * * * *", true, ErrConflictingOptions},
	} {
		_, err := parseCron(c.spec, time.UTC, c.locSet, now)
		if !errors.Is(err, c.want) {
			t.Errorf("parseCron(%q, locSet=%v) = %v, want %v", c.spec, c.locSet, err, c.want)
		}
	}
	p, err := parseCron("TZ=Europe/Berlin 0 3 * * *", nil, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.next(now), time.Date(2024, 1, 1, 2, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("TZ= prefix: next %v, want %v", got, want)
	}
	p, err = parseCron("@every 1h30m", nil, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.next(now), now.Add(90*time.Minute); !got.Equal(want) {
		t.Fatalf("@every: next %v, want %v", got, want)
	}
}

// TestCronNextOracle compares next with a brute-force reading of the rules,
// minute by minute in absolute time, over the DST days of 2024 in both zones,
// a 2h jump (Troll) and two zones skipping a whole day.
func TestCronNextOracle(t *testing.T) {
	specs := []string{"*/7 * * * *", "0 * * * *", "30 2 * * *", "*/20 1-3 * * *", "59 1 * * *", "0 2 * * *", "0 3 * * *", "* 2 * * *", "45 2 * * *"}
	days := []struct {
		zone string
		y    int
		m    time.Month
		d    int
	}{
		{"America/Los_Angeles", 2024, time.March, 10}, {"America/Los_Angeles", 2024, time.November, 3},
		{"Europe/Berlin", 2024, time.March, 31}, {"Europe/Berlin", 2024, time.October, 27},
		{"Antarctica/Troll", 2024, time.March, 31},                                              // a 2h jump, still a DST change
		{"Pacific/Apia", 2011, time.December, 29}, {"Pacific/Kwajalein", 1993, time.August, 20}, // a day skipped
	}
	for _, day := range days {
		loc := loadZone(t, day.zone)
		from := time.Date(day.y, day.m, day.d, 0, 0, 0, 0, loc).Add(-30 * time.Minute)
		to := from.Add(26 * time.Hour)
		for _, spec := range specs {
			p := cronPlanFor(t, spec, loc, from)
			matches := func(w time.Time) bool { // w: wall time written as UTC
				return p.naive.Next(w.Add(-time.Second)).Equal(w)
			}
			var want []string
			for i := from.Add(time.Minute); !i.After(to); i = i.Add(time.Minute) {
				w, prev := wall(i, loc), wall(i.Add(-time.Minute), loc)
				fire := false
				switch {
				case w.Sub(prev) > time.Minute: // the jump: the walls skipped
					fire = matches(w)
					dst := w.Sub(prev)-time.Minute < 3*time.Hour
					for s := prev.Add(time.Minute); s.Before(w) && !p.wildHour && dst; s = s.Add(time.Minute) {
						fire = fire || matches(s)
					}
				case p.wildHour:
					fire = matches(w)
				default: // fixed hour: only the first copy of a wall time
					fire = matches(w)
					for j := i.Add(-3 * time.Hour); fire && j.Before(i); j = j.Add(time.Minute) {
						if wall(j, loc).Equal(w) {
							fire = false
						}
					}
				}
				if fire {
					want = append(want, i.UTC().Format("01-02T15:04Z"))
				}
			}
			got := firesBetween(p, from, to)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s %s %v %d:\n got %v\nwant %v", spec, day.zone, day.m, day.d, got, want)
			}
		}
	}
}
