package service

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/seam"
)

// Observer hears of the state changes of the services of the trees it is
// attached to (Observe): a live page, metrics, a readiness notifier.
//
// StateChanged is called on the goroutine that changed the state (a
// Start, a Stop, a crashing task, a supervisor's), after the change, with
// no lock of the tree held. It must return quickly and must not wait for
// the tree (no Stop, Restart or WaitUntilStopped): hand the news to a
// channel without blocking, and read what else it needs (s.State(),
// s.CrashReason()) from there. Changes made on different goroutines may
// arrive in either order, and s may have moved on by the time a call
// arrives: to, not s.State(), is the state the change reached. A panic in
// StateChanged is recovered and detaches the observer.
//
// An Observer may also implement StateFilter, StopObserver, and
// supervisor's EventObserver.
type Observer interface {
	StateChanged(s Service, from, to State)
}

// StopObserver is an optional capability of an Observer: it also hears of
// each Stop of a service of the tree (a restart's stop half included)
// once it has ended: how long it took and what it returned (an
// ErrStopTimeout error names what it abandoned). Calls follow
// StateChanged's rules.
type StopObserver interface {
	Stopped(s Service, took time.Duration, err error)
}

// StateFilter is an optional capability of an Observer: the states it
// hears of. Observe asks once; StateChanged is then called only for the
// changes to one of them, and a change to another costs the observer
// nothing (the engine tests a bit). Without it, an Observer hears of every
// change. It does not filter the other calls (StopObserver's, and
// EventObserver's). States out of range are ignored; a panic in
// ObservedStates is recovered, and Observe returns it as an error,
// attaching nothing.
//
// A restart makes five changes (to Crashed, Stopping, Shutdown, Starting
// and Running): an observer that wants only where services end up (say
// Running, Crashed and Shutdown) skips two in five.
type StateFilter interface {
	ObservedStates() []State
}

// attachment is one Observe call.
type attachment struct {
	o       Observer
	at      *Base
	states  uint32      // a bit per State it hears of (StateFilter)
	dropped atomic.Bool // by detach or by a panic, whichever came first
}

// allStates is the states of an Observer that is no StateFilter.
const allStates = ^uint32(0)

// statesOf returns the bits of the states o hears of, or an error if its
// ObservedStates panicked.
func statesOf(o Observer) (bits uint32, err error) {
	f, ok := o.(StateFilter)
	if !ok {
		return allStates, nil
	}
	defer func() {
		if v := recover(); v != nil {
			bits, err = 0, errorf(ErrBadArgument, "Observe: %s.ObservedStates: %w", typeName(o), newPanicError(v))
		}
	}()
	for _, st := range f.ObservedStates() {
		if st >= 0 && int(st) < len(stateNames) {
			bits |= 1 << st
		}
	}
	return bits, nil
}

// observers holds the attachments. n counts them: while it is zero a state
// change costs one atomic load and nothing else. The list is short (an
// observer per tool: a page, metrics, a notifier), so a state change
// compares each ancestor's node with each attachment's: no map, no type
// assertion per level.
var observers struct {
	n     atomic.Int32
	timed atomic.Int32                  // attachments of a StopObserver
	mu    sync.Mutex                    // serialises writers of list
	list  atomic.Pointer[[]*attachment] // copy on write
}

// Observe attaches o to s and to every service below it, those added
// later included, until detach is called: o hears of each of their state
// changes (and, if it implements them, of their stops and their
// supervisors' events). An observer attached to a tree and to one of its
// subtrees hears of the subtree's changes twice. Observe does not report
// the states the services are in now: read them after it returns.
//
// detach is idempotent and safe for concurrent use. It does not wait for
// calls to o: one under way, or about to begin, when detach is called may
// still run after it returns (so detach can be called from inside o);
// calls stop promptly after.
//
// Observe returns ErrNilService for a nil s and ErrBadArgument for a nil
// o, or for a StateFilter whose ObservedStates panics (the error also
// wraps the *PanicError; nothing is attached).
func Observe(s Service, o Observer) (detach func(), err error) {
	b, err := baseOf(s)
	if err != nil {
		return nil, err
	}
	if isNil(o) {
		return nil, errorf(ErrBadArgument, "Observe: nil observer")
	}
	states, err := statesOf(o)
	if err != nil {
		return nil, err
	}
	a := &attachment{o: o, at: b, states: states}
	editObservers(func(list []*attachment) []*attachment { return append(list, a) })
	observers.n.Add(1)
	if _, ok := o.(StopObserver); ok {
		observers.timed.Add(1)
	}
	return func() { dropObserver(a) }, nil
}

// dropObserver detaches a, once.
func dropObserver(a *attachment) {
	if a.dropped.Swap(true) {
		return
	}
	editObservers(func(list []*attachment) []*attachment {
		return slices.DeleteFunc(list, func(x *attachment) bool { return x == a })
	})
	observers.n.Add(-1)
	if _, ok := a.o.(StopObserver); ok {
		observers.timed.Add(-1)
	}
}

// editObservers replaces the attachment list by an edited copy.
func editObservers(edit func([]*attachment) []*attachment) {
	observers.mu.Lock()
	defer observers.mu.Unlock()
	var list []*attachment
	if old := observers.list.Load(); old != nil {
		list = slices.Clone(*old)
	}
	list = edit(list)
	observers.list.Store(&list)
}

// anyState is eachObserver's to for a call that is no state change.
const anyState State = -1

// observed reports whether any observer is attached anywhere.
func observed() bool { return observers.n.Load() != 0 }

// eachObserver calls fn with each observer attached to b or above it, from
// the nearest up, that hears of a change to state to (for a state change;
// anyState for the other calls). A panicking observer is detached.
func eachObserver(b *Base, to State, fn func(Observer)) {
	p := observers.list.Load()
	if p == nil {
		return
	}
	list := *p
	for n := &b.node; n != nil; n = n.Parent() {
		for _, a := range list {
			if &a.at.node == n && (to == anyState || a.states&(1<<to) != 0) && !a.dropped.Load() {
				callObserver(a, fn)
			}
		}
	}
}

// callObserver calls fn with a's observer, detaching it if it panics.
func callObserver(a *attachment, fn func(Observer)) {
	defer a.recoverPanic()
	fn(a.o)
}

// recoverPanic, deferred around a call to a's observer, detaches it if
// the call panicked.
func (a *attachment) recoverPanic() {
	if v := recover(); v != nil {
		dropObserver(a)
		a.at.Log().Error().Str("observer", typeName(a.o)).Interface("panic", v).Msg("observer panicked: detached")
	}
}

// setStateLocked moves b to state to and returns the state it left, for
// stateChanged once b.mu is released. b.mu is held.
func (b *Base) setStateLocked(to State) (from State) {
	return State(b.state.Swap(int32(to)))
}

// stateChanged tells the observers that b went from one state to another.
// Call it holding no lock, after the change.
func (b *Base) stateChanged(from, to State) {
	if !observed() || from == to {
		return
	}
	var s Service // read once, and only for a listener
	eachObserver(b, to, func(o Observer) {
		if s == nil {
			s, _ = b.node.Value().(Service)
		}
		if s != nil {
			o.StateChanged(s, from, to)
		}
	})
}

// stopped tells the observers that implement StopObserver that a stop of
// b begun at began ended with err.
func (b *Base) stopped(began time.Time, err error) {
	took := time.Since(began)
	eachObserver(b, anyState, func(o Observer) {
		if so, ok := o.(StopObserver); ok {
			if s, ok := b.node.Value().(Service); ok {
				so.Stopped(s, took, err)
			}
		}
	})
}

// timeStops reports whether a stop must be timed: an attached observer
// implements StopObserver.
func timeStops() bool { return observers.timed.Load() != 0 }

// Observed reports whether an observer is attached anywhere, at the cost
// of one atomic load. It is for package supervisor, which builds an event
// only when someone may hear it; its argument cannot be made elsewhere.
func Observed(_ seam.Token) bool { return observed() }

// EachObserver calls fn with each observer attached to s or above it, for
// package supervisor's events. It does nothing, at the cost of one atomic
// load, while no observer is attached anywhere.
func EachObserver(_ seam.Token, s Service, fn func(Observer)) {
	if !observed() || s == nil {
		return
	}
	eachObserver(s.base(), anyState, fn)
}
