package service

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/logline"
)

// TimerStats is a snapshot of a timer's counters, as Base.Timers returns
// them. Counters add up over all of the timer's worker loops.
type TimerStats struct {
	// Name is the timer's name (see the Named option).
	Name string
	// Workers is the number of concurrent loops.
	Workers int
	// Runs counts the calls of fn that have returned, ExecFirst's included.
	Runs int64
	// Failures counts the calls that returned an error or panicked.
	Failures int64
	// Skipped counts the slots (fire times) passed over without a call
	// because a wake came late or a call overran: they are never made up.
	Skipped int64
	// Drifts counts wakes later than the timer's maximal drift: Python mode's
	// min(interval·0.3, 1.2s) for Every, 1.2s for Cron.
	Drifts int64
	// Overlaps counts calls that ran longer than the interval (for Cron:
	// past the next fire time); each one is logged as a warning. A
	// FixedDelay timer has no overlaps nor skipped slots: both stay 0.
	Overlaps int64
}

// Timers returns the counters of the timers (Every and Cron) registered on
// the current run, in registration order. They stay readable after a crash
// until the run is stopped; a new run starts with none. Ticks loops are not
// listed. Safe for concurrent use.
func (b *Base) Timers() []TimerStats {
	b.mu.Lock()
	r := b.cur
	stopped := b.State() == Shutdown // the run is stopped: its timers are gone
	b.mu.Unlock()
	x := extrasFor(r)
	if x == nil || stopped {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	out := make([]TimerStats, 0, len(x.timers))
	for _, t := range x.timers {
		out = append(out, t.stats())
	}
	return out
}

// Every starts a timer task calling fn every interval while the current run
// lives. With the FixedDelay option it sleeps interval after each call
// instead (see there); by default its slots are fixed-rate, anchored at registration: anchor +
// k·interval (k ≥ 1), like time.Ticker. A late wake calls fn at once for the
// latest slot passed and then sleeps only to the next slot; older slots
// missed by the late wake or by a call that overran are skipped and counted
// (TimerStats.Skipped), never made up in a burst. Calls of one loop never
// overlap each other. Wakes later than min(interval·0.3, 1.2s) are counted
// as drifts (Python mode's threshold, for logs and counters only), and calls
// longer than the interval as overlaps, logged as warnings. See Timers.
//
// fn gets the run context. While it runs, the diag flag named after the
// timer is set. An error or panic from fn crashes the service, like a Go
// task's, unless the timer has ContinueOnError; failures are counted either
// way. Stopping the service cancels fn's context and ends the timer; Stop
// joins it like any task.
//
// Every returns ErrBadArgument for interval ≤ 0, a nil fn or a bad option,
// ErrConflictingOptions for InLocation, ErrNotStarted in state Init or Shutdown and
// ErrStopping once the service is stopping or has crashed; in each case
// nothing is started. Call it from OnStart or from the service's tasks.
func (b *Base) Every(interval time.Duration, fn func(ctx context.Context) error, opts ...TimerOption) error {
	fail := func(err error) error {
		return fmt.Errorf("%s: Every(%v): %w", b.Label(), interval, err)
	}
	if interval <= 0 {
		return fail(errorf(ErrBadArgument, "non-positive interval"))
	}
	if fn == nil {
		return fail(errorf(ErrBadArgument, "nil function"))
	}
	cfg, err := buildConfig(opts, "every "+interval.String())
	if err != nil {
		return fail(err)
	}
	if cfg.locSet {
		return fail(errorf(ErrConflictingOptions, "InLocation applies to Cron only"))
	}
	clk := b.clock()
	var plan firePlan = &everyPlan{anchor: clk.Now(), iv: interval}
	if cfg.delay {
		plan = &delayPlan{anchor: clk.Now(), iv: interval}
	}
	if err := b.startTimer(cfg, plan, fn); err != nil {
		return fail(err)
	}
	return nil
}

// firePlan is a timer's schedule: the pure part of a timer loop.
type firePlan interface {
	// start is the registration time, from which the first fire is due.
	start() time.Time
	// next returns the first fire time strictly after t (zero: never).
	next(t time.Time) time.Time
	// catchUp is called on a wake at now ≥ due, due being a fire time. It
	// returns the latest fire time ≤ now (the one served now) and how many
	// fire times from due on are passed over.
	catchUp(due, now time.Time) (served time.Time, skipped int64)
	// maxDrift is the lateness above which a wake counts as a drift.
	maxDrift() time.Duration
	// overran reports whether a call from began to ended, serving served,
	// counts as an overlap.
	overran(served, began, ended time.Time) bool
}

// everyPlan is the fixed-rate schedule anchor + k·iv, k ≥ 1.
type everyPlan struct {
	anchor time.Time
	iv     time.Duration
}

func (p *everyPlan) start() time.Time { return p.anchor }

// slot returns the slot time of index k.
func (p *everyPlan) slot(k int64) time.Time { return p.anchor.Add(time.Duration(k) * p.iv) }

// index returns the index of the latest slot at or before t (0 before the
// first slot).
func (p *everyPlan) index(t time.Time) int64 {
	d := t.Sub(p.anchor)
	if d < 0 {
		return 0
	}
	return int64(d / p.iv)
}

// next returns the first slot after t, or the zero time (never) once the
// slots lie past what a Duration from the anchor holds (292 years: only a
// clock without monotonic readings, stepped or moved that far, gets there),
// rather than a slot index that overflows into the past and makes the loop
// call fn back to back.
func (p *everyPlan) next(t time.Time) time.Time {
	k := p.index(t)
	if k >= math.MaxInt64/int64(p.iv) {
		return time.Time{}
	}
	return p.slot(k + 1)
}

func (p *everyPlan) catchUp(due, now time.Time) (time.Time, int64) {
	k, kd := p.index(now), p.index(due)
	if k < kd {
		k = kd
	}
	return p.slot(k), k - kd
}

func (p *everyPlan) maxDrift() time.Duration {
	return min(p.iv*3/10, 1200*time.Millisecond)
}

func (p *everyPlan) overran(_, began, ended time.Time) bool {
	return ended.Sub(began) > p.iv
}

// delayPlan is the fixed-delay schedule: the first fire one interval after
// registration, each next one an interval after the previous call ended
// (the loop passes that end as the time to go on from).
type delayPlan struct {
	anchor time.Time
	iv     time.Duration
}

func (p *delayPlan) start() time.Time                            { return p.anchor }
func (p *delayPlan) next(t time.Time) time.Time                  { return t.Add(p.iv) }
func (p *delayPlan) catchUp(due, _ time.Time) (time.Time, int64) { return due, 0 }
func (p *delayPlan) maxDrift() time.Duration                     { return min(p.iv*3/10, 1200*time.Millisecond) }
func (p *delayPlan) overran(_, _, _ time.Time) bool              { return false }

// timer is one registered Every or Cron with its counters.
type timer struct {
	b    *Base
	r    *run
	clk  clock.Clock
	cfg  timerConfig
	plan firePlan
	fn   func(ctx context.Context) error

	runs, failures, skipped, drifts, overlaps atomic.Int64
}

func (t *timer) stats() TimerStats {
	return TimerStats{
		Name: t.cfg.name, Workers: t.cfg.workers,
		Runs: t.runs.Load(), Failures: t.failures.Load(), Skipped: t.skipped.Load(),
		Drifts: t.drifts.Load(), Overlaps: t.overlaps.Load(),
	}
}

// startTimer registers a timer on the current run and starts its loops.
func (b *Base) startTimer(cfg timerConfig, plan firePlan, fn func(context.Context) error) error {
	r, err := b.runForTasks()
	if err != nil {
		return err
	}
	x, err := r.extras()
	if err != nil {
		return err
	}
	tm := &timer{b: b, r: r, clk: b.clock(), cfg: cfg, plan: plan, fn: fn}
	tasks := make([]*task, 0, cfg.workers)
	for i := range cfg.workers {
		name := cfg.name
		if cfg.workers > 1 {
			name = fmt.Sprintf("%s[%d]", cfg.name, i+1)
		}
		t := &task{name: name, fn: tm.loop}
		if err := r.addTask(t); err != nil {
			for _, t := range tasks { // never started: unregister
				r.doneTask(t)
			}
			return err
		}
		tasks = append(tasks, t)
	}
	x.mu.Lock()
	x.timers = append(x.timers, tm)
	x.mu.Unlock()
	for _, t := range tasks {
		launch(t)
	}
	return nil
}

// loop is one worker loop of the timer. It returns nil when the run ends,
// and fn's error when that must crash the service.
func (t *timer) loop(ctx context.Context) error {
	last := t.plan.start()
	if ctx.Err() != nil {
		// Stopped (or a start rolled back) before this goroutine ran:
		// no call, not even ExecFirst's, with a cancelled context.
		return nil
	}
	if t.cfg.execFirst {
		if err := t.call(ctx); err != nil {
			return err
		}
		if t.cfg.delay {
			last = t.clk.Now()
		}
	}
	var sleep clock.Timer
	defer func() {
		if sleep != nil {
			sleep.Stop()
		}
	}()
	for {
		due := t.plan.next(last)
		if due.IsZero() {
			t.b.Log().Warn().Str("timer", t.cfg.name).Msg("timer has no fire time left; it ends")
			return nil
		}
		// Sleep until the clock reads due. Timers run on the monotonic
		// clock while Cron's fire times are wall times: after a step of the
		// wall clock back, the wake comes early and sleeps again.
		for wait := due.Sub(t.clk.Now()); wait > 0; wait = due.Sub(t.clk.Now()) {
			if sleep == nil {
				sleep = t.clk.NewTimer(wait)
			} else {
				sleep.Reset(wait)
			}
			select {
			case <-sleep.C():
			case <-ctx.Done():
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		now := t.clk.Now()
		served, skipped := t.plan.catchUp(due, now)
		t.account(served, now, skipped)
		last = served
		began := t.clk.Now()
		err := t.call(ctx)
		ended := t.clk.Now()
		if t.plan.overran(served, began, ended) {
			t.overlaps.Add(1)
			logline.Dur(t.b.Log().Warn().Str("timer", t.cfg.name), "runtime", ended.Sub(began)).
				Msg("timer overlapping: a run took longer than the interval")
		}
		if err != nil {
			return err
		}
		if t.cfg.delay {
			last = ended // the next call is one interval after this one ended
		}
	}
}

// account counts the skipped slots and a drifting wake.
func (t *timer) account(served, now time.Time, skipped int64) {
	if skipped > 0 {
		t.skipped.Add(skipped)
		t.b.Log().Warn().Str("timer", t.cfg.name).Int64("skipped", skipped).
			Msg("timer woke late: missed fire times skipped")
	}
	if late := now.Sub(served); late > t.plan.maxDrift() {
		t.drifts.Add(1)
		logline.Dur(t.b.Log().Info().Str("timer", t.cfg.name), "drift", late).Msg("timer woke up too late")
	}
}

// call runs fn once with the diag flag set. It returns the error that must
// end the loop (and crash the service), or nil.
func (t *timer) call(ctx context.Context) error {
	err := t.flagged(ctx)
	t.runs.Add(1)
	if err == nil {
		return nil
	}
	t.failures.Add(1)
	if !t.cfg.keepGoing {
		return err
	}
	if ctx.Err() == nil {
		t.b.Log().Warn().Err(err).Str("timer", t.cfg.name).Msg("timer run failed; continuing")
	}
	return nil
}

// flagged calls fn with the diag flag counted, and uncounts it however
// fn ends: a panic passed through (PassThroughPanics) or runtime.Goexit
// would leave the package-wide entry, which holds the Base, and the flag
// set for good.
func (t *timer) flagged(ctx context.Context) error {
	t.flag(+1)
	defer t.flag(-1)
	return t.b.callHook(ctx, t.fn)
}

// timerCalls counts the timer calls in progress per service and timer
// name: timers of one name share a diag flag (two Every(time.Second) are
// both "every 1s"), whichever run they belong to (a call a Restart gave
// up on may still run beside the new run's), and the flag is set while
// any of them runs. An entry lives while its count is above zero.
var timerCalls struct {
	sync.Mutex
	n map[timerKey]int
}

type timerKey struct {
	b    *Base
	name string
}

// flag counts t's calls in progress (delta +1 or -1) and keeps the diag
// flag set while any call of a timer of t's service so named runs.
func (t *timer) flag(delta int) {
	k := timerKey{t.b, t.cfg.name}
	timerCalls.Lock()
	defer timerCalls.Unlock()
	if timerCalls.n == nil {
		timerCalls.n = make(map[timerKey]int)
	}
	n := timerCalls.n[k] + delta
	switch {
	case n <= 0:
		delete(timerCalls.n, k)
		t.b.Diag().Unset(t.cfg.name)
	case delta > 0 && n == 1:
		timerCalls.n[k] = n
		t.b.Diag().Set(t.cfg.name)
	default:
		timerCalls.n[k] = n
	}
}
