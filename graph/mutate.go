package graph

import (
	"fmt"
	"sync"
	"sync/atomic"
)

var (
	// mu serializes every structural mutation of every tree in the process.
	mu sync.Mutex
	// version is a sequence counter: odd while a mutation runs, bumped twice
	// per mutation. Readers use it to detect overlap without locking.
	version atomic.Uint64
)

func beginMutation() {
	mu.Lock()
	version.Add(1)
}

func endMutation() {
	version.Add(1)
	mu.Unlock()
}

// Add appends child to n's children and makes n its parent.
//
// Errors (wrapped, naming the nodes): a nil child gives ErrNilNode; child
// being n or one of n's ancestors gives ErrCycle; child already among n's
// children gives ErrAlreadyChild; child attached elsewhere gives ErrHasParent
// (use Reattach to move it). On error the tree is unchanged. Safe for
// concurrent use; mutations are serialized.
func (n *Node) Add(child *Node) error {
	if n == nil || child == nil {
		return fmt.Errorf("%w: Add(%s) on %s", ErrNilNode, name(child), name(n))
	}
	beginMutation()
	defer endMutation()
	if err := checkCycle(n, child, "add"); err != nil {
		return err
	}
	switch p := child.parent.Load(); {
	case p == n:
		return fmt.Errorf("%w: %s is already a child of %s", ErrAlreadyChild, name(child), name(n))
	case p != nil:
		return fmt.Errorf("%w: cannot add %s to %s: it is a child of %s", ErrHasParent, name(child), name(n), name(p))
	}
	attach(n, child)
	return nil
}

// Reattach moves n under parent: n is removed from its old parent's children
// and appended to parent's. A nil parent detaches n (see Detach). Reattaching
// to the current parent does nothing and keeps n's position.
//
// Errors: parent being n or one of n's descendants gives ErrCycle (wrapped);
// the tree is then unchanged. Safe for concurrent use; mutations are
// serialized.
func (n *Node) Reattach(parent *Node) error {
	if n == nil {
		return fmt.Errorf("%w: Reattach(%s) on %s", ErrNilNode, name(parent), name(n))
	}
	beginMutation()
	defer endMutation()
	old := n.parent.Load()
	if parent == old {
		return nil
	}
	if parent != nil {
		if err := checkCycle(parent, n, "reattach"); err != nil {
			return err
		}
	}
	if old != nil {
		detach(old, n)
	}
	if parent != nil {
		attach(parent, n)
	}
	return nil
}

// Detach removes n from its parent's children, making n a root with its
// subtree intact. Detaching a root does nothing (idempotent). Safe for
// concurrent use.
func (n *Node) Detach() {
	if n == nil {
		return
	}
	beginMutation()
	defer endMutation()
	if old := n.parent.Load(); old != nil {
		detach(old, n)
	}
}

// Remove detaches child from n, making child a root with its subtree intact.
// A nil child gives ErrNilNode and a node that is not a child of n gives
// ErrNotChild (both wrapped). Safe for concurrent use.
func (n *Node) Remove(child *Node) error {
	if n == nil || child == nil {
		return fmt.Errorf("%w: Remove(%s) on %s", ErrNilNode, name(child), name(n))
	}
	beginMutation()
	defer endMutation()
	if child.parent.Load() != n {
		return fmt.Errorf("%w: %s is not a child of %s", ErrNotChild, name(child), name(n))
	}
	detach(n, child)
	return nil
}

// checkCycle reports ErrCycle when child is parent or one of its ancestors,
// that is when putting child under parent would close a loop. Called with mu
// held.
// Replace puts fresh in old's place among n's children (same position) and
// detaches old.
//
// Errors (wrapped): a nil node gives ErrNilNode; old not a child of n gives
// ErrNotChild; fresh attached anywhere gives ErrHasParent; fresh being n or
// one of n's ancestors gives ErrCycle. On error the tree is unchanged.
func (n *Node) Replace(old, fresh *Node) error {
	if n == nil || old == nil || fresh == nil {
		return fmt.Errorf("%w: Replace(%s, %s) on %s", ErrNilNode, name(old), name(fresh), name(n))
	}
	beginMutation()
	defer endMutation()
	if old.parent.Load() != n {
		return fmt.Errorf("%w: %s is not a child of %s", ErrNotChild, name(old), name(n))
	}
	if err := checkCycle(n, fresh, "replace"); err != nil {
		return err
	}
	if p := fresh.parent.Load(); p != nil {
		return fmt.Errorf("%w: cannot put %s under %s: it is a child of %s", ErrHasParent, name(fresh), name(n), name(p))
	}
	k := append([]*Node(nil), n.kids()...) // readers may hold the old slice
	k[n.IndexOf(old)] = fresh
	n.children.Store(&k)
	old.parent.Store(nil)
	fresh.parent.Store(n)
	return nil
}

func checkCycle(parent, child *Node, op string) error {
	for a := parent; a != nil; a = a.parent.Load() {
		if a == child {
			if a == parent {
				return fmt.Errorf("%w: cannot %s %s under itself", ErrCycle, op, name(child))
			}
			return fmt.Errorf("%w: cannot %s %s under %s: %s is an ancestor of %s", ErrCycle, op, name(child), name(parent), name(child), name(parent))
		}
	}
	return nil
}

// attach appends child to parent's children and sets child's parent. Called
// with mu held.
//
// The append may reuse the current backing array: readers only ever index
// below the length of the slice they loaded, and removals always copy, so the
// element written at the old length is not visible to any earlier snapshot.
func attach(parent, child *Node) {
	k := append(parent.kids(), child)
	parent.children.Store(&k)
	child.parent.Store(parent)
}

// detach removes child from parent's children (into a fresh slice, since
// readers may hold the old one) and clears child's parent. Called with mu
// held.
func detach(parent, child *Node) {
	old := parent.kids()
	if i := parent.IndexOf(child); i >= 0 {
		if len(old) == 1 {
			parent.children.Store(nil)
		} else {
			k := make([]*Node, 0, len(old)-1)
			k = append(append(k, old[:i]...), old[i+1:]...)
			parent.children.Store(&k)
		}
	}
	child.parent.Store(nil)
}
