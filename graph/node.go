package graph

import (
	"runtime"
	"sync/atomic"
)

// Node is a node in the tree of services: one parent (nil for a root) and
// ordered children. The zero value is a detached root with no value, ready to
// use. A Node must not be copied after first use.
//
// All methods are safe for concurrent use; see the package documentation for
// what a read overlapping a mutation sees. Methods called on a nil *Node
// return zero values (reads), do nothing (Detach) or return an error wrapping
// ErrNilNode (other mutations); they never panic.
type Node struct {
	parent   atomic.Pointer[Node]
	children atomic.Pointer[kidList] // appended in place or replaced, under mu
	value    atomic.Pointer[any]     // &first, or a box made by a later SetValue
	first    any                     // the first value stored; written once, before value points to it
}

// claimed is what a node's value points to while its first SetValue
// writes first: a nil value, never written.
var claimed any

// kidList is a node's children: the first n elements of a. Readers load
// the list, then n, and never look at a[n:]. An append with room left
// writes a[n] and then publishes n+1, so no reader's view changes and no
// slice header is allocated per child; an append without room, a removal
// and a replacement make a new list (a new array), so an array is written
// only by appends to its own list. Mutated under mu only.
type kidList struct {
	n atomic.Int64
	a []*Node
}

// readRetries bounds how often Root, Path and Depth retry when a mutation
// overlapped them; after that they return what they last read.
const readRetries = 4

// SetValue stores v as the node's value (the service owning the node). It may
// be called again, for example when a replacement service takes over the
// node; the last store wins. Safe for concurrent use with every other method.
//
// The first store keeps v in the node itself (no allocation): it claims
// the node's slot, writes it, then publishes it. Later stores box v, since
// readers may still read the slot.
func (n *Node) SetValue(v any) {
	if n == nil {
		return
	}
	if n.value.CompareAndSwap(nil, &claimed) {
		n.first = v
		n.value.Store(&n.first)
		return
	}
	n.value.Store(box(v))
}

// box returns a new cell holding v (a function of its own, so that the
// first SetValue does not allocate it).
func box(v any) *any { return &v }

// Value returns the value last stored by SetValue, or nil if none was stored.
func (n *Node) Value() any {
	if n == nil {
		return nil
	}
	if p := n.value.Load(); p != nil {
		return *p
	}
	return nil
}

// Parent returns the node's parent, or nil for a root. It never blocks.
func (n *Node) Parent() *Node {
	if n == nil {
		return nil
	}
	return n.parent.Load()
}

// kids returns the current children slice. Callers must not modify it.
func (n *Node) kids() []*Node {
	if l := n.children.Load(); l != nil {
		k := l.n.Load()
		return l.a[:k:k]
	}
	return nil
}

// Children returns a snapshot copy of the node's children in the order they
// were added (nil when there are none). The caller owns the slice. It never
// blocks.
func (n *Node) Children() []*Node {
	if n == nil {
		return nil
	}
	k := n.kids()
	if len(k) == 0 {
		return nil
	}
	return append([]*Node(nil), k...)
}

// Len returns the number of children. It never blocks.
func (n *Node) Len() int {
	if n == nil {
		return 0
	}
	return len(n.kids())
}

// IndexOf returns the position of child among the node's children, or -1 if
// child is not one of them. It never blocks.
func (n *Node) IndexOf(child *Node) int {
	if n == nil || child == nil {
		return -1
	}
	for i, c := range n.kids() {
		if c == child {
			return i
		}
	}
	return -1
}

// stableRead runs read until no mutation overlapped it, at most readRetries
// extra times. It never blocks: between attempts it only yields the processor.
func stableRead[T any](read func() T) T {
	for try := 0; ; try++ {
		v := version.Load()
		r := read()
		if (v&1 == 0 && version.Load() == v) || try == readRetries {
			return r
		}
		runtime.Gosched()
	}
}

// Root returns the root of the node's tree (the node itself when it has no
// parent). It never blocks.
func (n *Node) Root() *Node {
	if n == nil {
		return nil
	}
	return stableRead(func() *Node {
		r := n
		for p := r.parent.Load(); p != nil; p = r.parent.Load() {
			r = p
		}
		return r
	})
}

// Path returns the nodes from n up to its root: n first, the root last. A
// root's path is just itself. The caller owns the slice. It never blocks.
func (n *Node) Path() []*Node {
	if n == nil {
		return nil
	}
	return stableRead(func() []*Node {
		path := make([]*Node, 0, 8)
		for a := n; a != nil; a = a.parent.Load() {
			path = append(path, a)
		}
		return path
	})
}

// Depth returns the number of ancestors of n: 0 for a root. It never blocks.
func (n *Node) Depth() int {
	if n == nil {
		return 0
	}
	return stableRead(func() int {
		d := 0
		for a := n.parent.Load(); a != nil; a = a.parent.Load() {
			d++
		}
		return d
	})
}

// Walk calls fn for n and every descendant, pre-order and depth-first, with
// children in the order they were added. depth is relative to n (n itself is
// 0). When fn returns false, the children of that node are skipped; the walk
// goes on with its siblings. Each node's children are read when the walk
// reaches it. Walk holds no lock while fn runs, so fn may mutate the tree. A
// nil fn does nothing.
func (n *Node) Walk(fn func(n *Node, depth int) bool) {
	if n == nil || fn == nil {
		return
	}
	n.walk(fn, 0)
}

func (n *Node) walk(fn func(*Node, int) bool, depth int) {
	if !fn(n, depth) {
		return
	}
	for _, c := range n.kids() {
		c.walk(fn, depth+1)
	}
}
