package service

import (
	"errors"
	"fmt"

	"github.com/gomode/mode/internal/logline"
	"github.com/rs/zerolog"
)

// Crash crashes the service with reason (Python mode's crash), in this order:
//
//  1. The reason is recorded (the first reason of a run wins; Crash(nil)
//     records ErrNilReason), the state becomes Crashed, the run context is
//     cancelled with the reason as its cause (context.Cause), Done closes.
//  2. The whole subtree is marked crashed with the same reason.
//  3. The nearest service at or above this one that sits directly under a
//     supervisor is the unit of restart: it is marked crashed too, and its
//     supervisor is woken at once to restart it. With no supervisor above,
//     the whole tree, from the root, is marked crashed.
//
// Crash never blocks and is safe to call from any goroutine, any number of
// times, concurrently, also during Start and Stop. During Start the crash
// aborts the start (it rolls back and returns the reason; no supervisor is
// woken); during Stop the reason is only added to Stop's error; on a
// service that is not running (Init, Shutdown) it is logged and ignored.
func (b *Base) Crash(reason error) {
	if reason == nil {
		reason = ErrNilReason
	}
	b.mu.Lock()
	r, st := b.cur, b.State()
	begun := r != nil && r.ctx != nil // a start writes r.ctx under b.mu
	b.mu.Unlock()
	if !begun || st == Init || st == Shutdown {
		b.Log().Warn().Err(reason).Str("state", st.String()).Msg("Crash ignored: service not running")
		return
	}
	b.crashRun(r, reason)
}

// crashRun crashes run r (if it is still the current run) and wakes the
// unit of restart's supervisor.
func (b *Base) crashRun(r *run, reason error) {
	if b.recordCrash(r, reason) {
		b.escalate(r, reason)
	}
}

// recordCrash is crashRun without the wakeup: it reports whether one is
// due (the caller escalates, maybe later).
func (b *Base) recordCrash(r *run, reason error) bool {
	if !b.markCrashed(r, reason) {
		return false
	}
	b.logCrash(reason)
	return true
}

// logCrash writes the crash line, at Error, under the service that
// crashed: its reason, the unit of restart (unit=<label>: the service its
// supervisor restarts, or the root when no supervisor is above), and for a
// panic its stack, once (see logline.Stack: a repeat of the same stack on
// the same service path says stack_seen=<n> instead).
func (b *Base) logCrash(reason error) {
	if !b.enabled(zerolog.ErrorLevel) {
		return
	}
	e := b.Log().Error().Str("unit", b.unitOfRestart().ShortLabel())
	var pe *PanicError
	if errors.As(reason, &pe) {
		e = logline.Stack(e, pe.Stack)
	}
	e.Err(reason).Msg("Crashed")
}

// unitOfRestart is what a crash of b takes down and gets restarted: the
// nearest service at or above b directly under a supervisor, else the root.
func (b *Base) unitOfRestart() *Base {
	top := b
	for n := b.Node(); n != nil; n = n.Parent() {
		s, ok := n.Value().(Service)
		if !ok {
			break
		}
		top = s.base()
		if top.link.Load() != nil {
			break
		}
	}
	return top
}

// markCrashed records reason on run r of b and marks b's subtree crashed. It
// reports whether b went from Running to Crashed (so a wakeup is due). r nil
// means b's current run.
func (b *Base) markCrashed(r *run, reason error) bool {
	// The children's runs are read before b can become Crashed: until
	// then nobody restarts b, so each is the run that belongs to r. Read
	// later (b restarted meanwhile by whoever saw its Done), a child's run
	// could be one of the next generation, crashed by a stale reason.
	kids := b.childRuns()
	b.mu.Lock()
	if r == nil {
		r = b.cur
	}
	if r == nil || b.cur != r || r.ctx == nil {
		b.mu.Unlock()
		return false
	}
	// The reason and runHalted are set in one locked instruction; the run
	// is cancelled (cancelRun) once b.mu is released.
	crashed, cancel := false, false
	switch b.State() {
	case Running:
		if crashed, cancel = r.setReason(reason, true); crashed {
			b.setStateLocked(Crashed)
		}
	case Starting:
		_, cancel = r.setReason(reason, true) // the start sees it and rolls back
	case Stopping:
		if r.crashReason() == nil { // a crashed run being stopped has its reason already
			r.mu.Lock()
			r.addLateErr(fmt.Errorf("crashed while stopping: %w", reason))
			r.mu.Unlock()
		}
	}
	b.mu.Unlock()
	if cancel {
		r.cancelRun(reason)
	}
	if !crashed {
		return false
	}
	b.stateChanged(Running, Crashed)
	for _, k := range kids {
		k.b.markCrashed(k.r, reason)
	}
	return true
}

// childRun is a child and the run it had when read.
type childRun struct {
	b *Base
	r *run
}

// childRuns returns b's children with their current runs (none for a
// leaf, which allocates nothing).
func (b *Base) childRuns() []childRun {
	kids := b.childrenSnapshot()
	if len(kids) == 0 {
		return nil
	}
	out := make([]childRun, 0, len(kids))
	for _, c := range kids {
		cb := c.base()
		cb.mu.Lock()
		if cb.cur != nil {
			out = append(out, childRun{cb, cb.cur})
		}
		cb.mu.Unlock()
	}
	return out
}

// escalate walks up from b, whose run r crashed, to the nearest service
// directly under a supervisor (b included) and wakes that supervisor; with
// none, it marks the whole tree crashed. It holds no lock while walking.
// Once an ancestor (or the supervisor) has stopped r, the crash is old
// news: the unit was stopped or restarted since, and marking its current
// run would crash a later generation with it.
func (b *Base) escalate(r *run, reason error) {
	if r.has(runByParent) {
		return
	}
	top := b
	for n := b.Node(); n != nil; n = n.Parent() {
		s, ok := n.Value().(Service)
		if !ok {
			break
		}
		sb := s.base()
		if l := sb.link.Load(); l != nil {
			if sb != b {
				sb.markCrashed(nil, reason)
			}
			l.Sup.Exited()
			return
		}
		top = sb
	}
	if top != b {
		top.markCrashed(nil, reason)
		// A root crashed already marks nothing: an ancestor restarted
		// since under it (a Restart of a crashed parent's child is legal)
		// would run on with a crashed child. Mark the path too.
		for n := b.Node().Parent(); n != nil && n != top.Node(); n = n.Parent() {
			if s, ok := n.Value().(Service); ok {
				s.base().markCrashed(nil, reason)
			}
		}
	}
}

// CrashReason returns the reason the current run crashed, or nil.
func (b *Base) CrashReason() error {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.crashReason()
}
