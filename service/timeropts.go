package service

import "time"

// TimerOption configures a timer registered by Every or Cron.
type TimerOption func(*timerConfig)

type timerConfig struct {
	execFirst bool
	name      string
	nameSet   bool
	workers   int
	keepGoing bool
	loc       *time.Location
	locSet    bool
	delay     bool // FixedDelay
}

// ExecFirst makes the timer call fn once at registration, on the timer's
// own goroutine, before the first slot (Python mode's exec_first). With
// Workers(n), each loop makes that call.
func ExecFirst() TimerOption { return func(c *timerConfig) { c.execFirst = true } }

// Named names the timer in logs, in the task report of a Stop that timed
// out, in Timers, and as the diag flag set while fn runs. Default: "every
// <interval>" for Every, "cron <spec>" for Cron. An empty name is
// ErrBadArgument.
func Named(name string) TimerOption {
	return func(c *timerConfig) { c.name, c.nameSet = name, true }
}

// Workers runs n concurrent loops of the timer (core_service's periodic
// task workers), each its own task on the same schedule, so fn is called n
// times per slot. Default 1; n < 1 is ErrBadArgument.
func Workers(n int) TimerOption { return func(c *timerConfig) { c.workers = n } }

// ContinueOnError is the log-and-continue failure policy: an error or panic
// from fn is logged and counted (TimerStats.Failures) and the timer keeps
// going. Without it, the first failure crashes the service.
func ContinueOnError() TimerOption { return func(c *timerConfig) { c.keepGoing = true } }

// FixedDelay makes an Every timer fixed-delay instead of fixed-rate: it
// sleeps the interval after each call of fn has returned, then calls fn
// again (core_service's sleep_interval, time.Sleep in a loop, Java's
// scheduleWithFixedDelay). The first call is one interval after
// registration (with ExecFirst: at once, and the next one interval after
// it returns).
//
// Choose it when the pause between runs matters more than their rhythm:
// a commit or a poll that sometimes takes longer than its interval then
// never runs back to back, and nothing is skipped or counted as an overlap
// (a fixed-delay timer's Skipped and Overlaps stay 0). Without it, Every
// keeps to its fixed-rate slots: a call that overran is followed at once by
// the call for the latest slot passed, with a warning. Workers(n) runs n
// loops, each keeping its own delay. Drifts counts wakes later than
// min(interval·0.3, 1.2s) past the end of the delay.
//
// FixedDelay on a Cron timer is ErrConflictingOptions.
func FixedDelay() TimerOption { return func(c *timerConfig) { c.delay = true } }

// InLocation sets the time zone in which Cron reads its spec. Default time.Local. A
// nil loc is ErrBadArgument; InLocation together with a CRON_TZ= or TZ= prefix in
// the spec, or on an Every timer, is ErrConflictingOptions.
func InLocation(loc *time.Location) TimerOption {
	return func(c *timerConfig) { c.loc, c.locSet = loc, true }
}

// buildConfig applies opts and checks them; what is the Every or Cron
// registration, for error messages.
func buildConfig(opts []TimerOption, defName string) (timerConfig, error) {
	c := timerConfig{workers: 1}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	switch {
	case c.nameSet && c.name == "":
		return c, errorf(ErrBadArgument, "empty timer name")
	case c.workers < 1:
		return c, errorf(ErrBadArgument, "Workers(%d): want at least 1", c.workers)
	case c.locSet && c.loc == nil:
		return c, errorf(ErrBadArgument, "InLocation(nil): nil location")
	}
	if !c.nameSet {
		c.name = defName
	}
	return c, nil
}
