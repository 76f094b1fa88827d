package service

import (
	"context"

	"github.com/gomode/mode/internal/seam"
)

// beginKidsLocked begins the children step of run r's start: from now on
// AddDependency refuses, so the children it reads into v.kids are all
// there are; v.kidsUp keeps those of them that ran as the start began.
// Each is marked unreached
// until the step has started it: its own Restart meanwhile would start it
// behind the step's back (see parentDown). b.mu is held.
//
// A machinery (a supervisor's) starts its children itself: they are read
// but not marked (nothing would clear the marks, and a child moved from a
// supervisor to a plain parent was then refused its Restart during that
// parent's step, which had not marked it).
func (b *Base) beginKidsLocked(r *run, v *view) {
	r.phase.Store(phaseKids)
	v.kids = b.childrenLocked()
	if v.mach == nil && len(v.kids) > 0 {
		b.markKidsLocked(r, v) // a leaf's start, and a restart's, skip the call
	}
}

// markKidsLocked is beginKidsLocked's part for a plain parent's children:
// their unreached marks, and v.kidsUp. b.mu is held.
func (b *Base) markKidsLocked(r *run, v *view) {
	for _, c := range v.kids {
		c.base().setUnreached(true)
	}
	v.kidsUp = append(v.kidsUp, r.takeAddedUp()...)
	if len(v.kidsUp) > 0 {
		// Keep those still children, in v.kids' order (startKids walks
		// both together).
		up := make(map[Service]bool, len(v.kidsUp))
		for _, c := range v.kidsUp {
			up[c] = true
		}
		v.kidsUp = v.kidsUp[:0]
		for _, c := range v.kids {
			if up[c] {
				v.kidsUp = append(v.kidsUp, c)
			}
		}
	}
}

// kidsUpLocked reads into v.kidsUp the children running as a start
// begins: started by someone else before it, the start neither starts
// them nor rolls them back. A child started during the start (by the
// parent's OnStart, say, to use it at once) is the start's: its rollback
// stops it. b.mu is held.
func (b *Base) kidsUpLocked(v *view) {
	for _, c := range b.children {
		if c.State() == Running {
			v.kidsUp = append(v.kidsUp, c)
		}
	}
}

// startKids is the children step of a start: the machinery's start, else
// the children's (v.kids), in the order added, recorded in p. A child
// running by its own Restart, which the step let through, is this run's:
// recorded as started, so that a rollback stops it.
func startKids(ctx context.Context, r *run, mach seam.Machinery, v *view, p *progress) error {
	// A Stop or a crash during the start cancels the run: the children's
	// starts hear it too, not only the start ctx's end.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	if mach != nil {
		if err := r.abortReason(ctx); err != nil {
			return err
		}
		p.machOn = true
		return mach.Start(context.WithValue(ctx, markerKey{}, r))
	}
	up := v.kidsUp // in the order of v.kids: the next one up is up[0]
	for i, c := range v.kids {
		if err := r.abortReason(ctx); err != nil {
			reached(v.kids[i:])
			return err
		}
		cb := c.base()
		wasUp := len(up) > 0 && up[0] == c
		if wasUp {
			up = up[1:]
		}
		if c.Node().Parent() != r.b.Node() {
			// Removed since the step began: no child of this start. Its
			// mark is left alone: it is cleared when the child is
			// attached again, and may be another parent's step's by now.
			continue
		}
		if wasUp {
			cb.setUnreached(false)
			p.running = append(p.running, c)
			continue
		}
		// ctx has the values of this run's start ctx: the children's
		// runs take theirs from r.values too.
		err := cb.startKid(ctx, r.values, r.b)
		if err == errRemoved {
			continue // as above
		}
		cb.setUnreached(false) // started (or this start fails and rolls back)
		if c.Node().Parent() != r.b.Node() {
			// Removed while it started (RemoveDependency, whose stop
			// may have come first): nothing else would stop it.
			if err == nil {
				_ = cb.stop(ctx, stopByParent, -1)
			}
			continue
		}
		if err != nil {
			reached(v.kids[i+1:])
			return err // it names itself
		}
		p.started = append(p.started, c)
	}
	return nil
}

// reached clears the unreached marks of children a failed children step
// will not start.
func reached(kids []Service) {
	for _, c := range kids {
		c.base().setUnreached(false)
	}
}

// baseSet is the set of the Bases of kids (nil for none): a rollback
// looks up each child in it, in constant time however many there are.
func baseSet(kids []Service) map[*Base]struct{} {
	if len(kids) == 0 {
		return nil
	}
	set := make(map[*Base]struct{}, len(kids))
	for _, c := range kids {
		set[c.base()] = struct{}{}
	}
	return set
}

// idleDown reports whether b is in Init or Shutdown with no transition in
// progress.
func (b *Base) idleDown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.State()
	return b.trans == nil && (st == Init || st == Shutdown)
}
