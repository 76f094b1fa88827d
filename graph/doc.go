// Package graph holds Node, the beacon that places a service in the tree of
// services (parent and children), TopoOrder for dependency ordering with
// cycle detection, and renderers that draw a tree as text, Graphviz DOT,
// Mermaid or JSON.
//
// # Nodes
//
// A zero Node is a detached root, ready to use; it is meant to be embedded by
// value and is three words large. Its value (the service that owns it) is set
// with SetValue by the runtime.
//
// # Concurrency
//
// Structural mutations (Add, Reattach, Detach, Remove) are serialized by one
// package-level mutex, so cycle checks are exact and the tree is always a
// forest. Mutations are rare and O(depth) for the cycle check plus O(number
// of siblings) for a removal; an Add is amortized O(1).
//
// Reads never lock and never block: the parent is an atomic pointer and each
// node's children are a copy-on-write slice published atomically. Parent,
// Children, Len, IndexOf, Root, Path, Depth and Walk may be called from any
// goroutine, also while a mutation runs. Root, Path and Depth retry a few
// times when a mutation overlapped them, so in practice they see one
// consistent tree. Walk reads each node's children when it reaches that node,
// so a walk overlapping a mutation sees every node as it was when visited (a
// node moved during the walk may be seen in its old place, its new place, or
// neither). The renderers read the tree the same way as Walk.
//
// Package graph starts no goroutines and imports nothing from this module.
package graph
