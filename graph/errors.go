package graph

import (
	"errors"
	"fmt"
)

// Sentinel errors returned (wrapped with context naming the nodes involved by
// their labels, see "Labels" in the package documentation) by this package.
// Match them with errors.Is.
var (
	// ErrNilNode is returned when a nil *Node is given where a node is needed.
	ErrNilNode = errors.New("mode: nil node")
	// ErrHasParent is returned by Add when the child is already attached to
	// another parent; use Reattach to move it.
	ErrHasParent = errors.New("mode: node already has a parent")
	// ErrCycle is returned when a change would make a node its own ancestor,
	// and by TopoOrder when the dependencies contain a cycle.
	ErrCycle = errors.New("mode: cycle")
	// ErrAlreadyChild is returned by Add when the node is already a child of
	// the receiver.
	ErrAlreadyChild = errors.New("mode: node is already a child")
	// ErrNotChild is returned by Remove when the node is not a child of the
	// receiver.
	ErrNotChild = errors.New("mode: node is not a child")
	// ErrRender is returned when a renderer fails to encode its output.
	ErrRender = errors.New("mode: render failed")
)

// nodeError is the error of a failed mutation or of TopoOrder: a sentinel and
// the nodes involved. Its text, "<sentinel>: <format with one label per
// node>", is built when Error is called, not when the error is made: the
// labels may run user code (ShortLabel), which must not run with mu held nor,
// in practice, while a caller such as a service holds its own lock around the
// mutation. A nodeError is immutable and safe for concurrent use.
type nodeError struct {
	sentinel error
	format   string // one %s per node, nothing else
	nodes    []*Node
}

// fail returns the error for sentinel, with format's %s verbs standing for
// the labels of nodes.
func fail(sentinel error, format string, nodes ...*Node) *nodeError {
	return &nodeError{sentinel: sentinel, format: format, nodes: nodes}
}

func (e *nodeError) Error() string {
	labels := make([]any, len(e.nodes))
	for i, n := range e.nodes {
		labels[i] = label(n)
	}
	return e.sentinel.Error() + ": " + fmt.Sprintf(e.format, labels...)
}

func (e *nodeError) Unwrap() error { return e.sentinel }
