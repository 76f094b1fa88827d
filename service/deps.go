package service

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/seam"
)

// AddDependency adds child as a child service: it starts after this
// service's OnStart, in the order added, and stops, in reverse order, when
// this service stops. Children stay attached across restarts; add them once
// (before Start, in Dependencies() or in OnFirstStart).
//
// Not from OnStart nor OnStarted: they run again at every restart while
// the children stay attached, so a child added there would be added a
// second time at the first restart. AddDependency, AddRuntimeDependency
// and a supervisor's Add therefore return ErrAddedInOnStart when called
// from OnStart or OnStarted (on the hook's own goroutine: the hook and
// what it calls) of the parent or of one of its ancestors, and that start
// fails with it even if the hook ignores the error: the mistake fails the
// first start, in a test, instead of the first restart, in production.
// Other goroutines are not recognised, tasks (Go) included: they may add
// children at any time, and one that adds the same child at each run
// gets ErrAlreadyAdded from the second run on.
//
// It is legal in state Init and while starting, up to the children step;
// otherwise it returns ErrRunning (use AddRuntimeDependency). It returns
// ErrAddedInOnStart as above,
// ErrNilService for a nil child, ErrAlreadyAdded for a child added before,
// ErrHasParent for a child of another service, ErrCycle when child is this
// service or one of its ancestors, ErrTwoOwners as Start. On error nothing
// changes. On a Supervisor it means Add with the default child spec.
func (b *Base) AddDependency(child Service) error {
	return b.attach(child, nil, false)
}

// attach adds child to b's children (and b's node), storing link on it. It
// is O(1): the node graph detects a child added twice. Labels are formatted
// only for an error, and never under b.mu: no two services' locks are held
// together.
func (b *Base) attach(child Service, link *seam.Link, running bool) error {
	cb, err := baseOf(child)
	if err != nil {
		return fmt.Errorf("%s: add: %w", b.Label(), err)
	}
	if err := b.attachBase(cb, child, link, running); err != nil {
		return fmt.Errorf("%s: add %s: %w", b.Label(), child.Label(), err)
	}
	return nil
}

// attachBase is attach of a child handed over already (cb is its Base).
// Its errors do not name b nor child: the caller does (attach, or a
// supervisor's Add).
func (b *Base) attachBase(cb *Base, child Service, link *seam.Link, running bool) error {
	if cb == b {
		return ErrCycle // the caller says "add <itself>"
	}
	if err := b.refuseFromStartHook(child); err != nil {
		return err
	}
	b.mu.Lock()
	st := b.State()
	if !running && !b.acceptsChildrenLocked() {
		b.mu.Unlock()
		return fmt.Errorf("%w (state %s)", ErrRunning, st)
	}
	err := b.node.Add(cb.Node())
	if err == nil {
		b.children = append(b.children, child)
		b.setKidCount(len(b.children))
		if link != nil {
			cb.link.Store(link)
		}
		// No step of b's has it to reach: one that has begun does not
		// start it (it was added at run time), and a later one marks it.
		cb.setUnreached(false)
		if r := b.cur; !running && st == Starting && r != nil && cb.State() == Running {
			x, _ := r.extras()
			x.addedUp = append(x.addedUp, child) // see kidsUpLocked
		}
	}
	b.mu.Unlock()
	switch {
	case err == nil:
		cb.dropLogCaches() // it logs to its new parent's logger
		return nil
	case errors.Is(err, graph.ErrAlreadyChild):
		return ErrAlreadyAdded
	default:
		return err
	}
}

// refuseFromStartHook returns ErrAddedInOnStart when the caller runs
// OnStart or OnStarted of b or of one of its ancestors, and crashes that
// hook's service: the start fails even if the hook ignores the error.
func (b *Base) refuseFromStartHook(child Service) error {
	in, hook := b.inOnStart()
	if in == nil {
		return nil
	}
	where := hook
	if in != b {
		where = in.Label() + "." + hook
	}
	// The caller names b and child ("<b>: add <child>: "); the crash
	// reason of in, read apart from it, names them itself.
	err := fmt.Errorf("%w (from %s)", ErrAddedInOnStart, where)
	in.Crash(fmt.Errorf("%s: add %s: %w", b.Label(), child.Label(), err))
	return err
}

// inOnStart returns b, or the first of its ancestors, whose OnStart or
// OnStarted is running and calling this, with the hook's name, or nil. A
// child added from there (under b or below) would stay attached and be
// added again by that hook at the next restart, which would then fail with
// ErrAlreadyAdded: the mistake is refused at the first start instead. A
// task, which may run while the hook does, is not refused: the answer must
// not depend on timing.
func (b *Base) inOnStart() (*Base, string) {
	for n := b.Node(); n != nil; n = n.Parent() {
		s, ok := n.Value().(Service)
		if !ok {
			continue
		}
		ab := s.base()
		if ab.State() != Starting {
			continue
		}
		ab.mu.Lock()
		r := ab.cur
		ph := phaseEarly
		if ab.trans != nil && r != nil {
			ph = r.phase.Load()
		}
		ab.mu.Unlock()
		if (ph == phaseOnStart || ph == phaseOnStarted) && calledFromOnStart() {
			if ph == phaseOnStarted {
				return ab, "OnStarted"
			}
			return ab, "OnStart"
		}
	}
	return nil, ""
}

// onStartFrame and onStartedFrame are the functions through which the
// runtime calls the hooks OnStart and OnStarted; startFrame runs a start's
// steps.
var (
	onStartFrame   = reflect.TypeFor[onStartHook]().PkgPath() + ".onStartHook.call"
	onStartedFrame = reflect.TypeFor[onStartedHook]().PkgPath() + ".onStartedHook.call"
	startFrame     = reflect.TypeFor[onStartHook]().PkgPath() + ".(*Base).startSteps"
)

// calledFromOnStart reports whether the calling goroutine runs an OnStart
// or OnStarted hook: whether onStartFrame or onStartedFrame is on its
// stack, however deep, below any start's steps (startFrame). A start made
// from such a hook (MaybeStart, Restart) has first-time steps of its own
// (Dependencies(), OnFirstStart), where children are added rightly: its
// startSteps frame lies between them and the outer hook. Go has no goroutine identity to ask instead; the
// walk (microseconds) happens only while such a hook runs above the
// parent, never on the start path itself.
func calledFromOnStart() bool {
	var buf [128]uintptr
	pcs := buf[:]
	n := runtime.Callers(3, pcs)
	for n == len(pcs) { // the stack may go on: the hook's frame is at its far end
		pcs = make([]uintptr, 2*len(pcs))
		n = runtime.Callers(3, pcs)
	}
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		switch f.Function {
		case onStartFrame, onStartedFrame:
			return true
		case startFrame:
			return false
		}
		if !more {
			return false
		}
	}
}

// acceptsChildrenLocked: Init, or starting before the children step.
func (b *Base) acceptsChildrenLocked() bool {
	switch b.State() {
	case Init:
		return b.trans == nil || b.cur == nil || b.cur.phase.Load() < phaseKids
	case Starting:
		return b.cur.phase.Load() < phaseKids
	}
	return false
}

// detach removes child from b's children and node, and drops its link.
func (b *Base) detach(child Service) error {
	b.mu.Lock()
	i := slices.Index(b.children, child)
	if i >= 0 {
		b.children = slices.Delete(b.children, i, i+1)
		b.setKidCount(len(b.children))
		_ = b.node.Remove(child.Node())
		child.base().link.Store(nil)
	}
	b.mu.Unlock()
	if i < 0 {
		return ErrNotChild // the caller names b and child
	}
	child.base().dropLogCaches()
	return nil
}

// AddRuntimeDependency adds child and, if this service is running, starts
// it (bounded by ctx); if the start fails the child is removed again and the
// error returned. Before the children step it is AddDependency. It returns
// AddDependency's errors (except ErrRunning; ErrAddedInOnStart included),
// Start's errors, and
// ErrStopping when this service is stopping, crashed or shut down.
func (b *Base) AddRuntimeDependency(ctx context.Context, child Service) error {
	switch b.State() {
	case Running:
	case Stopping, Crashed, Shutdown:
		return fmt.Errorf("%s: add runtime dependency: %w", b.Label(), ErrStopping)
	default:
		if err := b.attach(child, nil, false); !errors.Is(err, ErrRunning) {
			return err
		}
	}
	if err := b.attach(child, nil, true); err != nil {
		return err
	}
	// As a children step does (startKid): a start of this service that
	// began meanwhile (a restart's) may have the child in its list and be
	// starting it: that is waited for, not failed with ErrAlreadyStarted.
	err := child.base().startKid(ctx, nil, b)
	if errors.Is(err, ErrAlreadyStarted) && child.State() == Crashed {
		// That start (its children step) started the child and a crash
		// of the tree has crashed it since: it was added, and started.
		err = nil
	}
	if err != nil {
		if err == errRemoved {
			return fmt.Errorf("%s: add runtime dependency %s: removed meanwhile: %w", b.Label(), child.Label(), ErrNotChild)
		}
		_ = b.detach(child)
		// A stop of this service may have begun stopping it meanwhile:
		// it is idle when this returns, as after RemoveDependency.
		_ = settleDetached(ctx, child.base())
		return fmt.Errorf("%s: add runtime dependency: %w", b.Label(), err)
	}
	if st := b.State(); st != Running && st != Starting {
		// This service began stopping meanwhile and may have missed the child.
		_ = child.base().stop(ctx, stopByParent, -1)
	}
	return nil
}

// RemoveDependency stops child (bounded by ctx and the child's stop timeout)
// and removes it from this service's children. It returns ErrNotChild if
// child is not a child of this service, else the child's Stop error (the
// child is removed either way). From inside the child's own tasks or hooks
// the stop finishes on its own goroutine; from outside, the child is idle
// (Init or Shutdown, nothing in progress) when it returns, and no start of
// this service starts it any more: it may be added elsewhere at once.
func (b *Base) RemoveDependency(ctx context.Context, child Service) error {
	if isNil(child) {
		return fmt.Errorf("%s: remove: %w", b.Label(), ErrNilService)
	}
	if child.Node().Parent() != b.Node() {
		return fmt.Errorf("%s: remove %s: %w", b.Label(), child.Label(), ErrNotChild)
	}
	cb := child.base()
	err := cb.stop(ctx, stopByParent, -1)
	if derr := b.detach(child); derr != nil {
		return fmt.Errorf("%s: remove %s: %w", b.Label(), child.Label(), derr)
	}
	// This service's children step may have started it after the stop
	// above, before the detach (startKid), or another stop of it may
	// still be in progress.
	err = errors.Join(err, settleDetached(ctx, cb))
	if err != nil {
		return fmt.Errorf("%s: remove: %w", b.Label(), err) // err names child
	}
	return nil
}

// settleDetached stops cb, a child just detached, unless it is idle (or
// waits for a stop of it in progress), so that it is idle when its
// remover returns: a start or stop of it its former parent began before
// the detach may still run. It returns that stop's error.
func settleDetached(ctx context.Context, cb *Base) error {
	if cb.idleDown() {
		return nil
	}
	return cb.stop(ctx, stopByParent, -1)
}

// replace puts fresh in old's place: same position among b's children and
// in the node graph, same link. old must be stopped; fresh is handed over.
func (b *Base) replace(old, fresh Service) error {
	fb, err := baseOf(fresh)
	parent, was := b.Label(), old.Label()
	if err != nil {
		return fmt.Errorf("%s: replace %s: %w", parent, was, err)
	}
	i, err := b.replaceLocked(old, fresh, fb)
	// Errors are formatted once b.mu is released: a graph error's text
	// reads the services' labels, which take their locks.
	if i < 0 {
		return fmt.Errorf("%s: replace %s: %w", parent, was, ErrNotChild)
	}
	if err != nil {
		return fmt.Errorf("%s: replace %s: %w", parent, was, err)
	}
	fb.dropLogCaches() // it logs to its new parent's logger
	return nil
}

// replaceLocked is replace's locked section: it returns old's index (-1 if
// old is not a child) and the node graph's error.
func (b *Base) replaceLocked(old, fresh Service, fb *Base) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	i := slices.Index(b.children, old)
	if i < 0 {
		return i, nil
	}
	ob := old.base()
	if err := b.node.Replace(ob.Node(), fb.Node()); err != nil {
		return i, err
	}
	b.children[i] = fresh
	fb.link.Store(ob.link.Swap(nil))
	return i, nil
}
