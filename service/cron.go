package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Cron starts a timer task calling fn at the fire times of spec while the
// current run lives. spec is a standard 5-field crontab line (minute, hour,
// day of month, month, day of week) or a descriptor (@yearly, @monthly,
// @weekly, @daily, @hourly, "@every 1h30m"), parsed by robfig/cron/v3's
// standard parser. A "CRON_TZ=<zone> " or "TZ=<zone> " prefix sets the zone;
// otherwise InLocation does; the default is time.Local, the zone of the
// process (the TZ environment variable, else /etc/localtime), not UTC.
//
// Cron is wall-clock (but for "@every", below): on waking, it re-reads the
// wall clock and never fires before the scheduled wall time. The wait runs
// on the monotonic clock, so after a step of the wall clock back the wake
// comes early and Cron sleeps again; after a step forward the wake is late
// (see below).
//
// Fire times follow cron(8) across daylight-saving changes, not the raw
// wall-clock arithmetic of robfig's Schedule.Next:
//
//   - A job whose hour field lists every hour (e.g. "*/15 * * * *",
//     @hourly) follows the wall clock as it runs: its times inside a skipped
//     hour do not exist and are not run; its times inside a repeated hour run
//     in both copies of that hour (elapsed time: @hourly fires 23 times on a
//     spring-forward day and 25 on a fall-back day).
//   - Any other job (a fixed hour, "30 2 * * *", @daily) runs once per
//     wall-clock time: a time inside a skipped hour runs once, right after
//     the jump (at the instant of the change); a time inside a repeated hour
//     runs once, in its first copy.
//   - That skipped-hour rule applies to jumps under 3 hours (DST changes),
//     as in cron(8). A longer jump, a zone changing its offset by a day
//     (Pacific/Apia, Samoa, skipping Friday 2011-12-30), skips the runs at
//     the wall times it skips (they are no fire times, so not counted as
//     Skipped): "0 12 * * 5" does not run that week, rather than run at the
//     jump, on Saturday.
//   - "@every d" is elapsed time: fixed-rate slots d apart from registration,
//     as Every (robfig rounds d down to whole seconds, at least 1s).
//
// Like Every: a late wake serves the latest fire time passed and skips the
// older ones (counted, never run in a burst); fn gets the run context; the
// diag flag named after the timer (default "cron <spec>") is set while fn
// runs; an error or panic crashes the service unless ContinueOnError;
// options ExecFirst, Named, Workers, ContinueOnError and InLocation apply. See
// Timers for the counters (drift threshold: 1.2s).
//
// Cron returns ErrBadCronSpec wrapping the parser's error for an empty or
// malformed spec or zone, or a spec that never fires;
// ErrConflictingOptions for a zone prefix together with InLocation, or
// FixedDelay; ErrBadArgument
// for a nil fn, InLocation(nil) or a bad option; ErrNotStarted in state Init or
// Shutdown and ErrStopping once stopping or crashed. In each case nothing is
// started.
func (b *Base) Cron(spec string, fn func(ctx context.Context) error, opts ...TimerOption) error {
	fail := func(err error) error {
		return fmt.Errorf("%s: Cron(%q): %w", b.Label(), spec, err)
	}
	if fn == nil {
		return fail(errorf(ErrBadArgument, "nil function"))
	}
	cfg, err := buildConfig(opts, "cron "+spec)
	if err != nil {
		return fail(err)
	}
	if cfg.delay {
		return fail(errorf(ErrConflictingOptions, "FixedDelay applies to Every only"))
	}
	clk := b.clock()
	now := clk.Now()
	plan, err := parseCron(spec, cfg.loc, cfg.locSet, now)
	if err != nil {
		return fail(err)
	}
	if err := b.startTimer(cfg, plan, fn); err != nil {
		return fail(err)
	}
	return nil
}

// parseCron parses spec into the plan of a timer registered at now. loc is
// the In option (locSet: it was given).
func parseCron(spec string, loc *time.Location, locSet bool, now time.Time) (firePlan, error) {
	rest := strings.TrimSpace(spec)
	if rest == "" {
		return nil, errorf(ErrBadCronSpec, "empty spec")
	}
	if zone, tail, ok := zonePrefix(rest); ok {
		if locSet {
			return nil, errorf(ErrConflictingOptions, "zone prefix %q together with InLocation(%v)", zone, loc)
		}
		if tail == "" {
			return nil, errorf(ErrBadCronSpec, "no schedule after the zone prefix")
		}
		if _, _, again := zonePrefix(tail); again {
			return nil, errorf(ErrBadCronSpec, "two zone prefixes")
		}
		l, err := time.LoadLocation(zone)
		if err != nil || zone == "" {
			return nil, fmt.Errorf("%w: bad zone %q: %w", ErrBadCronSpec, zone, err)
		}
		loc, rest = l, tail
	}
	if loc == nil {
		loc = time.Local
	}
	sched, err := parseStandard(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCronSpec, err)
	}
	switch s := sched.(type) {
	case cron.ConstantDelaySchedule:
		return &everyPlan{anchor: now, iv: s.Delay}, nil
	case *cron.SpecSchedule:
		p := &cronPlan{naive: *s, loc: loc, reg: now}
		p.naive.Location = time.UTC
		p.wildHour = s.Hour&allHours == allHours
		if p.next(now).IsZero() {
			return nil, errorf(ErrBadCronSpec, "%q never fires", spec)
		}
		return p, nil
	}
	return nil, errorf(ErrBadCronSpec, "unsupported schedule %T", sched)
}

// zonePrefix splits "CRON_TZ=zone rest" or "TZ=zone rest".
func zonePrefix(s string) (zone, rest string, ok bool) {
	for _, p := range []string{"CRON_TZ=", "TZ="} {
		if tail, found := strings.CutPrefix(s, p); found {
			i := strings.IndexAny(tail, " \t\n\r\v\f")
			if i < 0 {
				return tail, "", true
			}
			return tail[:i], strings.TrimSpace(tail[i:]), true
		}
	}
	return "", "", false
}

// parseStandard is cron.ParseStandard, with any panic of the parser turned
// into an error.
func parseStandard(spec string) (s cron.Schedule, err error) {
	defer func() {
		if v := recover(); v != nil {
			s, err = nil, fmt.Errorf("parser panicked: %v", v)
		}
	}()
	return cron.ParseStandard(spec)
}

// allHours has the bits of hours 0-23.
const allHours = 1<<24 - 1

// dstSlack bounds a daylight-saving change (real ones are at most 2h). A
// forward jump of dstSlack or more (a zone moving its offset by a day) is no
// DST change: the skipped-hour rule does not apply to it.
const dstSlack = 3 * time.Hour

// cronPlan computes fire times of a crontab spec in a zone, the cron(8)
// way (see Cron). naive is the spec matched against wall-clock fields
// written as UTC times, where no wall time is skipped or repeated; each
// wall-clock candidate is then mapped to the instants it names in loc.
type cronPlan struct {
	naive    cron.SpecSchedule
	loc      *time.Location
	wildHour bool
	reg      time.Time // registration
}

func (p *cronPlan) start() time.Time { return p.reg }

func (p *cronPlan) maxDrift() time.Duration { return 1200 * time.Millisecond }

func (p *cronPlan) overran(served, _, ended time.Time) bool {
	n := p.next(served)
	return !n.IsZero() && ended.After(n)
}

func (p *cronPlan) catchUp(due, now time.Time) (time.Time, int64) {
	served, skipped := due, int64(0)
	for range 10000 {
		n := p.next(served)
		if n.IsZero() || n.After(now) {
			return served, skipped
		}
		served, skipped = n, skipped+1
	}
	return now, skipped // a very long stall: stop counting
}

// wall returns t's wall-clock fields in loc written as a UTC time.
func wall(t time.Time, loc *time.Location) time.Time {
	y, mo, d := t.In(loc).Date()
	h, mi, s := t.In(loc).Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC)
}

// next returns the first fire time strictly after t, or the zero time if
// the spec does not fire within robfig's five-year horizon.
func (p *cronPlan) next(t time.Time) time.Time {
	// Near a fall-back change, a candidate up to the repeated span before
	// w names an instant after t (its second copy).
	from := wall(t, p.loc).Add(-p.repeatedNear(t))
	var best, bestWall time.Time
	var span time.Duration // repeated span near best
	for c := p.naive.Next(from); !c.IsZero(); c = p.naive.Next(c) {
		if !best.IsZero() && c.Sub(bestWall) > span {
			// Only a candidate less than the repeated span after the best
			// one can name an earlier instant (best in a second copy).
			break
		}
		ins, n := p.instants(c)
		for _, i := range ins[:n] {
			if i.After(t) && (best.IsZero() || i.Before(best)) {
				best, bestWall, span = i, c, p.repeatedNear(i)
			}
		}
	}
	return best
}

// repeatedNear returns the length of the wall-clock span repeated by a
// change of loc's offset back within dstSlack of t, or 0.
func (p *cronPlan) repeatedNear(t time.Time) time.Duration {
	_, before := t.Add(-dstSlack).In(p.loc).Zone()
	_, after := t.Add(dstSlack).In(p.loc).Zone()
	return max(0, time.Duration(before-after)*time.Second)
}

// instants maps the wall-clock time c (written as UTC) to the instants at
// which the job fires for it: one normally; for a time inside a repeated
// hour, the first copy (both with wildHour); for a time inside a skipped
// hour, the instant of the jump (none with wildHour, or when the jump is
// dstSlack or more: a skipped day).
func (p *cronPlan) instants(c time.Time) (out [2]time.Time, n int) {
	_, oBefore := c.Add(-14 * time.Hour).In(p.loc).Zone()
	_, oAfter := c.Add(14 * time.Hour).In(p.loc).Zone()
	offs := []int{oBefore, oAfter}
	if oBefore == oAfter {
		offs = offs[:1]
	}
	for _, o := range offs {
		i := c.Add(-time.Duration(o) * time.Second)
		if _, oi := i.In(p.loc).Zone(); oi == o {
			out[n] = i.In(p.loc)
			n++
		}
	}
	if n == 2 && out[1].Before(out[0]) {
		out[0], out[1] = out[1], out[0]
	}
	switch {
	case n == 2 && !p.wildHour:
		n = 1
	case n == 0 && !p.wildHour && len(offs) == 2 &&
		time.Duration(oAfter-oBefore)*time.Second < dstSlack:
		// In the gap: the last instant before it is c less the later
		// offset; the zone in effect there ends at the jump.
		before := c.Add(-time.Duration(max(oBefore, oAfter)) * time.Second)
		if _, end := before.In(p.loc).ZoneBounds(); !end.IsZero() {
			out[0], n = end.In(p.loc), 1
		}
	}
	return out, n
}
