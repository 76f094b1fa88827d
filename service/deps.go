package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/seam"
)

// AddDependency adds child as a child service: it starts after this
// service's OnStart, in the order added, and stops, in reverse order, when
// this service stops. Children stay attached across restarts; add them once
// (before Start, in Dependencies() or in OnFirstStart).
//
// It is legal in state Init and while starting, up to the children step;
// otherwise it returns ErrRunning (use AddRuntimeDependency). It returns
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
		return fmt.Errorf("%s: add child: %w", b.Label(), err)
	}
	return b.attachBase(cb, child, link, running)
}

// attachBase is attach of a child handed over already (cb is its Base).
func (b *Base) attachBase(cb *Base, child Service, link *seam.Link, running bool) error {
	if cb == b {
		return fmt.Errorf("%w: %s added to itself", ErrCycle, b.Label())
	}
	b.mu.Lock()
	st := b.State()
	if !running && !b.acceptsChildrenLocked() {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s (state %s), child %s", ErrRunning, b.Label(), st, child.Label())
	}
	err := b.node.Add(cb.Node())
	if err == nil {
		b.children = append(b.children, child)
		b.nkids.Store(int32(len(b.children)))
		if link != nil {
			cb.link.Store(link)
		}
	}
	b.mu.Unlock()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, graph.ErrAlreadyChild):
		return fmt.Errorf("%w: %s under %s", ErrAlreadyAdded, child.Label(), b.Label())
	default:
		return fmt.Errorf("%s: add child %s: %w", b.Label(), child.Label(), err)
	}
}

// acceptsChildrenLocked: Init, or starting before the children step.
func (b *Base) acceptsChildrenLocked() bool {
	switch b.State() {
	case Init:
		return b.trans == nil || b.cur == nil || !b.cur.kidsStarted.Load()
	case Starting:
		return !b.cur.kidsStarted.Load()
	}
	return false
}

// detach removes child from b's children and node, and drops its link.
func (b *Base) detach(child Service) error {
	b.mu.Lock()
	i := slices.Index(b.children, child)
	if i >= 0 {
		b.children = slices.Delete(b.children, i, i+1)
		b.nkids.Store(int32(len(b.children)))
		_ = b.node.Remove(child.Node())
		child.base().link.Store(nil)
	}
	b.mu.Unlock()
	if i < 0 {
		return fmt.Errorf("%w: %s under %s", ErrNotChild, child.Label(), b.Label())
	}
	return nil
}

// AddRuntimeDependency adds child and, if this service is running, starts
// it (bounded by ctx); if the start fails the child is removed again and the
// error returned. Before the children step it is AddDependency. It returns
// AddDependency's errors (except ErrRunning), Start's errors, and
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
	if err := child.base().start(ctx, nil, true, -1); err != nil {
		_ = b.detach(child)
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
// the stop finishes on its own goroutine.
func (b *Base) RemoveDependency(ctx context.Context, child Service) error {
	if isNil(child) {
		return fmt.Errorf("%s: remove child: %w", b.Label(), ErrNilService)
	}
	if child.Node().Parent() != b.Node() {
		return fmt.Errorf("%w: %s under %s", ErrNotChild, child.Label(), b.Label())
	}
	err := child.base().stop(ctx, stopByParent, -1)
	if derr := b.detach(child); derr != nil {
		return derr
	}
	return err
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
		return fmt.Errorf("%w: %s under %s", ErrNotChild, was, parent)
	}
	if err != nil {
		return fmt.Errorf("%s: replace %s: %w", parent, was, err)
	}
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
