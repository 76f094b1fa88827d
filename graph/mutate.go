package graph

import (
	"sync"
	"sync/atomic"
)

var (
	// mu serializes every structural mutation of every tree in the process.
	// No user code runs while it is held: not even a label (see nodeError).
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

// mutate runs change with mu held. A failure change reports (it captures the
// nodes involved, nothing is formatted under the lock) is returned once mu is
// released; its text is built later, when its Error method is called.
func mutate(change func() *nodeError) error {
	if f := locked(change); f != nil {
		return f
	}
	return nil
}

func locked(change func() *nodeError) *nodeError {
	beginMutation()
	defer endMutation()
	return change()
}

// Add appends child to n's children and makes n its parent.
//
// Errors (wrapped): a nil child gives ErrNilNode; child being n or one of n's
// ancestors gives ErrCycle; child already among n's children gives
// ErrAlreadyChild; child attached elsewhere gives ErrHasParent (use Reattach
// to move it). On error the tree is unchanged. An error's text names the
// nodes by their labels and is built when its Error method is called, with
// no graph lock held (see "Labels" in the package documentation). Safe for
// concurrent use; mutations are serialized.
func (n *Node) Add(child *Node) error {
	if n == nil || child == nil {
		return fail(ErrNilNode, "Add(%s) on %s", child, n)
	}
	return mutate(func() *nodeError {
		if f := checkCycle(n, child, "add"); f != nil {
			return f
		}
		switch p := child.parent.Load(); {
		case p == n:
			return fail(ErrAlreadyChild, "%s is already a child of %s", child, n)
		case p != nil:
			return fail(ErrHasParent, "cannot add %s to %s: it is a child of %s", child, n, p)
		}
		attach(n, child)
		return nil
	})
}

// Reattach moves n under parent: n is removed from its old parent's children
// and appended to parent's. A nil parent detaches n (see Detach). Reattaching
// to the current parent does nothing and keeps n's position.
//
// Errors: parent being n or one of n's descendants gives ErrCycle (wrapped,
// naming the nodes by their labels, as for Add); the tree is then unchanged.
// Safe for concurrent use; mutations are serialized.
func (n *Node) Reattach(parent *Node) error {
	if n == nil {
		return fail(ErrNilNode, "Reattach(%s) on %s", parent, n)
	}
	return mutate(func() *nodeError {
		old := n.parent.Load()
		if parent == old {
			return nil
		}
		if parent != nil {
			if f := checkCycle(parent, n, "reattach"); f != nil {
				return f
			}
		}
		if old != nil {
			detach(old, n)
		}
		if parent != nil {
			attach(parent, n)
		}
		return nil
	})
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
// ErrNotChild (both wrapped, naming the nodes by their labels, as for Add).
// Safe for concurrent use.
func (n *Node) Remove(child *Node) error {
	if n == nil || child == nil {
		return fail(ErrNilNode, "Remove(%s) on %s", child, n)
	}
	return mutate(func() *nodeError {
		if child.parent.Load() != n {
			return fail(ErrNotChild, "%s is not a child of %s", child, n)
		}
		detach(n, child)
		return nil
	})
}

// Replace puts fresh in old's place among n's children (same position) and
// detaches old.
//
// Errors (wrapped, naming the nodes by their labels, as for Add): a nil node
// gives ErrNilNode; old not a child of n gives ErrNotChild; fresh attached
// anywhere gives ErrHasParent; fresh being n or one of n's ancestors gives
// ErrCycle. On error the tree is unchanged. Safe for concurrent use;
// mutations are serialized.
func (n *Node) Replace(old, fresh *Node) error {
	if n == nil || old == nil || fresh == nil {
		return fail(ErrNilNode, "Replace(%s, %s) on %s", old, fresh, n)
	}
	return mutate(func() *nodeError {
		if old.parent.Load() != n {
			return fail(ErrNotChild, "%s is not a child of %s", old, n)
		}
		if f := checkCycle(n, fresh, "replace"); f != nil {
			return f
		}
		if p := fresh.parent.Load(); p != nil {
			return fail(ErrHasParent, "cannot put %s under %s: it is a child of %s", fresh, n, p)
		}
		k := append([]*Node(nil), n.kids()...) // readers may hold the old list
		k[n.IndexOf(old)] = fresh
		setKids(n, k)
		old.parent.Store(nil)
		fresh.parent.Store(n)
		return nil
	})
}

// checkCycle reports ErrCycle when child is parent or one of its ancestors,
// that is when putting child under parent would close a loop. Called with mu
// held; op is a constant verb ("add", "reattach", "replace").
func checkCycle(parent, child *Node, op string) *nodeError {
	for a := parent; a != nil; a = a.parent.Load() {
		if a == child {
			if a == parent {
				return fail(ErrCycle, "cannot "+op+" %s under itself", child)
			}
			return fail(ErrCycle, "cannot "+op+" %s under %s: %s is an ancestor of %s", child, parent, child, parent)
		}
	}
	return nil
}

// attach appends child to parent's children and sets child's parent. Called
// with mu held.
//
// With room left in the list's array, child is written at the list's length,
// which readers never look at, and the length is then published: nothing
// is allocated. Otherwise a new list with twice the room replaces it.
func attach(parent, child *Node) {
	l := parent.children.Load()
	if l == nil || int(l.n.Load()) == len(l.a) {
		k := parent.kids()
		a := make([]*Node, len(k), max(4, 2*len(k)))
		copy(a, k)
		l = &kidList{a: a[:cap(a)]}
		l.n.Store(int64(len(k)))
		parent.children.Store(l)
	}
	i := l.n.Load()
	l.a[i] = child
	l.n.Store(i + 1)
	child.parent.Store(parent)
}

// setKids makes k (owned by the callee from now on) parent's children, in
// a new list. Called with mu held.
func setKids(parent *Node, k []*Node) {
	if len(k) == 0 {
		parent.children.Store(nil)
		return
	}
	l := &kidList{a: k}
	l.n.Store(int64(len(k)))
	parent.children.Store(l)
}

// detach removes child from parent's children (into a fresh slice, since
// readers may hold the old one) and clears child's parent. Called with mu
// held.
func detach(parent, child *Node) {
	old := parent.kids()
	if i := parent.IndexOf(child); i >= 0 {
		k := make([]*Node, 0, len(old)-1)
		setKids(parent, append(append(k, old[:i]...), old[i+1:]...))
	}
	child.parent.Store(nil)
}
