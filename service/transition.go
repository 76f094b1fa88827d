package service

import (
	"sync/atomic"

	"github.com/gomode/mode/internal/seam"
)

// transition is a Start, Stop or Restart in progress. Transitions of one
// service are serialized: a caller that finds one in progress waits for it
// (or, from inside the service, returns at once) and then looks again.
type transition struct {
	kind  transKind
	done  chan struct{} // made by the first waiter (under Base.mu)
	ended bool          // guarded by Base.mu
	err   error         // set before ended
	// stopAsked: a Stop arrived during a restart (in any phase): its start
	// must not happen (or must abort).
	stopAsked atomic.Bool
	// halted: a stop begun by Halt (seam.Handle) whose steps have not
	// begun; the supervisor's Stop of the service runs them. Guarded by
	// Base.mu.
	halted bool
}

// view is what the steps of a Stop or Start read of the service, taken
// under Base.mu in the section that begins them (one lock instead of one
// per step), and kept by the goroutine running them.
type view struct {
	self  Service
	mach  seam.Machinery
	cfg   Config
	hooks hookSet
	kids  []Service // a Stop's children, in the order added; a Start's, if kidsRead
	// kidsUp: a Start's children that were running when it began (started
	// by someone else before it; see kidsUpLocked), in the order of kids
	// once its children step begins: it neither starts nor rolls them
	// back.
	kidsUp []Service
	// kidsRead: the Start's children step began in the section that began
	// the Start (see startRun), with kids read then.
	kidsRead bool
}

// viewLocked takes b's view into v, without its children (a view is
// filled in place: it is large to copy). b.mu is held.
func (b *Base) viewLocked(v *view) {
	v.self, v.cfg, v.hooks, v.mach, v.kids, v.kidsUp, v.kidsRead = b.selfLocked(), b.cfg, b.hooks, nil, nil, nil, false
	if b.hooks&hasMachinery != 0 {
		v.mach = machineryOf(v.self)
	}
}

// stopViewLocked takes the view a Stop of b reads into v. b.mu is held.
func (b *Base) stopViewLocked(v *view) {
	b.viewLocked(v)
	if v.mach == nil { // else the machinery stops them
		v.kids = b.childrenLocked()
	}
}

// beginTransitionLocked makes a transition of the given kind, not ended,
// the one in progress (b.trans) and returns it: the one b last ended if
// nobody waited for it (nobody else can hold it: a waiter makes its
// channel, see waitCh), else a new one. b.mu is held.
func (b *Base) beginTransitionLocked(kind transKind) *transition {
	t := b.spareTrans
	if t == nil {
		t = &transition{kind: kind}
	} else {
		b.spareTrans = nil
		*t = transition{kind: kind}
	}
	b.trans = t
	return t
}

// waitCh returns a channel closed when t ends. b.mu is held.
func (t *transition) waitCh() <-chan struct{} {
	if t.done == nil {
		if t.ended {
			return closedCh
		}
		t.done = make(chan struct{})
	}
	return t.done
}

type transKind uint8

const (
	transStart transKind = iota
	transStop
	transRestart
)

// endTransition publishes the result of t and lets waiters look again.
func (b *Base) endTransition(t *transition, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLocked(t, err)
}

// endLocked is endTransition with b.mu held.
func (b *Base) endLocked(t *transition, err error) {
	t.err, t.ended = err, true
	st := b.State()
	// A Restart a Stop aborted did not leave the service down (the Stop
	// did): told by stopAsked, not by ErrStopped in err, which the errors
	// of its stop half (a hook returning its run's cause) may wrap.
	b.flags.set(restartDown, t.kind == transRestart && err != nil && !t.stopAsked.Load() && st != Running && st != Crashed)
	if b.trans == t {
		b.trans = nil
	}
	if t.done != nil {
		close(t.done)
	} else {
		b.spareTrans = t
	}
}
