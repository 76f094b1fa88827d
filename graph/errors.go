package graph

import "errors"

// Sentinel errors returned (wrapped with context naming the nodes involved)
// by this package. Match them with errors.Is.
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
