package service

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/logline"
	"github.com/rs/zerolog"
)

// Bounded calls of user code. Go cannot kill a goroutine, so a Stop that
// must return by its budget runs a hook that may hang on a goroutine of
// its own and stops waiting when the budget ends: the hook is abandoned,
// named in Stop's error, remembered as stuck (a supervisor does not start
// the service again while it runs) and logged when it finally returns.

// stuck is user code a Stop or a Start stopped waiting for: the tasks of
// an abandoned run, or one abandoned hook call.
type stuck struct {
	what  string          // "path: task \"x\"", "path: OnStop", ...
	done  <-chan struct{} // closed when it has returned
	since time.Time       // when it was given up on (the service's clock)
	probe bool            // given up on by CheckHealth, not by a Stop or a Start
}

func (s *stuck) alive() bool {
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// addStuck remembers what, running until done is closed; probe says
// CheckHealth gave up on it. Entries of code that has returned since are
// dropped.
func (b *Base) addStuck(what string, done <-chan struct{}, probe bool) {
	since := b.clock().Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneStuckLocked()
	b.stuck = append(b.stuck, &stuck{what: what, done: done, since: since, probe: probe})
	b.nstuck.Store(int32(len(b.stuck)))
}

// pruneStuckLocked drops the entries of code that has returned. b.mu is
// held.
func (b *Base) pruneStuckLocked() {
	live := b.stuck[:0]
	for _, s := range b.stuck {
		if s.alive() {
			live = append(live, s)
		}
	}
	clear(b.stuck[len(live):])
	b.stuck = live
	b.nstuck.Store(int32(len(live)))
}

// stuckTree returns what is still running of abandoned user code in b's
// subtree, forgetting what has returned.
func (b *Base) stuckTree() []*stuck {
	var out []*stuck
	if b.nstuck.Load() > 0 {
		b.mu.Lock()
		b.pruneStuckLocked()
		out = append(out, b.stuck...)
		b.mu.Unlock()
	}
	for _, c := range b.childrenSnapshot() {
		out = append(out, c.base().stuckTree()...)
	}
	return out
}

// ownStuck returns b's own entries of abandoned code still running (not
// its children's); with none it costs an atomic load.
func (b *Base) ownStuck() []*stuck {
	if b.nstuck.Load() == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneStuckLocked()
	return append([]*stuck(nil), b.stuck...)
}

// stuckError is the error of a Stop of a service that is not running
// while user code abandoned by an earlier Stop or Start of its subtree
// still runs: nothing outlives a Stop unless its error says so.
// It gives that code abandonGrace (at most lim, when lim ≥ 0) to return
// first.
func (b *Base) stuckError(lim time.Duration) error {
	if names := graceRunning(b.stuckTree(), lim); len(names) > 0 {
		return fmt.Errorf("%w: %s: abandoned earlier, still running: %s", ErrStopTimeout, b.Label(), strings.Join(names, ", "))
	}
	return nil
}

// graceRunning gives the pieces of left still alive abandonGrace (at most
// lim, when lim ≥ 0) to return, and names those still running then: a
// piece whose code is returning right now is not reported.
func graceRunning(left []*stuck, lim time.Duration) []string {
	if !slices.ContainsFunc(left, (*stuck).alive) {
		return nil
	}
	grace := abandonGrace
	if lim >= 0 {
		grace = min(grace, lim)
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	return stillRunning(left, t.C, nil)
}

// waitStuck waits (within the stop budget of cfg and lim, or until ctx
// ends) for abandoned user code in b's subtree to return. It returns
// ErrStopTimeout naming what still runs, or nil. With none, it costs no
// reading of the clock.
func (b *Base) waitStuck(ctx context.Context, cfg *Config, lim time.Duration) error {
	left := b.stuckTree()
	if len(left) == 0 {
		return nil
	}
	l := newLimit(ctx, cfg, lim)
	t := l.clk.NewTimer(l.remaining())
	defer t.Stop()
	if names := stillRunning(left, t.C(), ctx.Done()); len(names) > 0 {
		return fmt.Errorf("%w: a previous run is still running: %s", ErrStopTimeout, strings.Join(names, ", "))
	}
	return nil
}

// stillRunning waits for each of left to return until expire fires or
// done is closed, and names those still running then.
func stillRunning(left []*stuck, expire <-chan time.Time, done <-chan struct{}) []string {
	var names []string
	over := false
	for _, s := range left {
		if !over {
			select {
			case <-s.done:
			case <-expire: // fires once: the rest are only looked at
				over = true
			case <-done:
				over = true
			}
		}
		if s.alive() {
			names = append(names, s.what)
		}
	}
	return names
}

// call is one bounded call of user code on its own goroutine.
type call struct {
	state atomic.Int32 // callRunning → callReturned, or → callAbandoned
	done  chan struct{}
	err   error
}

// await waits at most d for the call to return: the grace of user code
// that honours its ctx, which returns a moment after the ctx ends. The
// caller's compare-and-swap on state then tells whether it did.
func (c *call) await(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
	}
}

const (
	callRunning int32 = iota
	callReturned
	callAbandoned
)

// awaitCall waits until done is closed, ctx ends or stop is closed. A
// hook that takes longer than noticeAfter is announced at Info under b
// (its name, how long it has run, the budget left), then again after 2s,
// 4s... A hook that returns at once costs no timer: the goroutine running
// it gets the processor first.
func (b *Base) awaitCall(ctx context.Context, what string, done, stop <-chan struct{}) {
	for i := 0; i < 2; i++ {
		select {
		case <-done:
			return
		default:
		}
		if i == 0 {
			runtime.Gosched()
		}
	}
	step := noticeAfter
	t := time.NewTimer(step)
	defer t.Stop()
	for waited := step; ; {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-t.C:
			b.hookNotice(ctx, what, waited)
			step *= 2
			waited += step
			t.Reset(step)
		}
	}
}

// hookNotice logs, at Info, that the hook what has run for waited, and
// how much of its budget (ctx's deadline) is left.
func (b *Base) hookNotice(ctx context.Context, what string, waited time.Duration) {
	if !b.enabled(zerolog.InfoLevel) {
		return
	}
	e := logline.Dur(b.Log().Info().Str("waiting_for", what), "waited", waited)
	if dl, ok := ctx.Deadline(); ok {
		e = logline.Dur(e, "budget_left", max(0, time.Until(dl)))
	}
	e.Msg("Waiting for a hook")
}

// hookFn is the shape of every hook.
type hookFn = func(context.Context) error

// abandonGrace is how long a bounded call still waits, once its bound
// has passed, for user code that honours its ctx to return: its ctx ended
// at the same moment.
const abandonGrace = 20 * time.Millisecond

// minGrace is the grace of a hook called once the budget is spent: time
// to run a quick hook to its end, short enough that many do not add up.
const minGrace = 5 * time.Millisecond

// callBounded calls fn(ctx) (a hook, named what) and returns its error.
// With ctx and stop never ending it calls fn on this goroutine. Otherwise
// it calls fn on a goroutine of its own and waits until fn returns, or ctx
// (the hook's own ctx, which carries the budget's deadline) ends, or stop
// is closed, and then a grace for a hook that honours its ctx (up to
// abandonGrace after ctx's deadline): fn is then abandoned, remembered as
// stuck and logged when it returns, and the error says so
// (ErrStopTimeout).
func (b *Base) callBounded(ctx context.Context, what string, fn hookFn, stop <-chan struct{}) error {
	if ctx.Done() == nil && stop == nil {
		return b.callHook(ctx, fn)
	}
	spent := ctx.Err() != nil // the budget was spent before the call
	c := &call{done: make(chan struct{})}
	go func() {
		b.labelGoroutine(what)
		err := b.callHook(ctx, fn)
		if c.state.CompareAndSwap(callRunning, callReturned) {
			c.err = err
			close(c.done)
			return
		}
		close(c.done)
		ev := b.Log().Warn().Str("hook", what)
		if err != nil {
			ev = ev.Err(err)
		}
		ev.Msg("abandoned hook returned late")
	}()
	b.awaitCall(ctx, what, c.done, stop)
	select {
	case <-c.done:
	default:
		// The grace ends abandonGrace after ctx's deadline, when it has
		// one: every hook of one Stop (its children's included) shares
		// it, so graces do not add up.
		grace := abandonGrace
		if dl, ok := ctx.Deadline(); spent {
			grace = minGrace
		} else if ok {
			grace = max(minGrace, time.Until(dl.Add(abandonGrace)))
		}
		c.await(grace)
	}
	if !c.state.CompareAndSwap(callRunning, callAbandoned) {
		<-c.done // returned meanwhile: its error is set
		return c.err
	}
	name := pathOf(b) + ": " + what
	b.addStuck(name, c.done, false)
	return &abandonedError{name: name}
}

// abandonedError is callBounded's error for user code it gave up on: it
// matches ErrStopTimeout and names the code by its path ("app/db:
// OnStop"), so that the step it was does not say its name again
// (stepError).
type abandonedError struct{ name string }

func (e *abandonedError) Error() string {
	return ErrStopTimeout.Error() + ": " + e.name + " did not return"
}
func (e *abandonedError) Unwrap() error { return ErrStopTimeout }

// stepError is err of the step named step ("OnStop: <err>"), or err
// itself when it is callBounded's abandonment of that step, which names it
// already (see "Error texts" in the package doc).
func stepError(step string, err error) error {
	if _, ok := err.(*abandonedError); ok {
		return err
	}
	return fmt.Errorf("%s: %w", step, err)
}

// AbandonedCall is user code of a service that a Stop, a Start or
// CheckHealth gave up waiting for and that still runs. The tasks a stop
// left behind of one run are one AbandonedCall, which names them all and
// lasts until the last of them returns.
type AbandonedCall struct {
	// What names it as ErrStopTimeout's errors do: "app/db: OnStop",
	// "app/db: task \"poll\"", "app/db: task \"a\", app/db: task \"b\"",
	// "app/db: Healthcheck (CheckHealth)".
	What string
	// Since is when it was given up on, by the service's clock, and For
	// how long ago that was when Abandoned was called.
	Since time.Time
	For   time.Duration
	// Probe: CheckHealth gave up on it (a Healthcheck slower than the
	// probe's ctx), not a Stop or a Start. A slow dependency makes these;
	// one that runs for long is a hang.
	Probe bool
}

// Abandoned returns the user code of s (not of its children) that a
// Stop, a Start or CheckHealth gave up waiting for and that still runs,
// oldest first, or nil: what a liveness check calls a hang. Safe while the
// tree runs; with nothing abandoned it costs an atomic load. A nil s has
// none.
func Abandoned(s Service) []AbandonedCall {
	if isNil(s) {
		return nil
	}
	b := s.base()
	left := b.ownStuck()
	if len(left) == 0 {
		return nil
	}
	now := b.clock().Now()
	var out []AbandonedCall
	for _, st := range left {
		if st.alive() {
			out = append(out, AbandonedCall{What: st.what, Since: st.since, For: now.Sub(st.since), Probe: st.probe})
		}
	}
	return out
}
