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
// Structural mutations (Add, Reattach, Detach, Remove, Replace) are
// serialized by one package-level mutex, so cycle checks are exact and the
// tree is always a forest. Mutations are rare and O(depth) for the cycle
// check plus O(number of siblings) for a removal; an Add is amortized O(1).
//
// Reads never lock and never block: the parent is an atomic pointer and each
// node's children are a list published atomically, appended to in place
// (the new child is written beyond the length readers see, then the length
// is published) and copied on any other change. Parent,
// Children, Len, IndexOf, Root, Path, Depth and Walk may be called from any
// goroutine, also while a mutation runs. Root, Path and Depth retry a few
// times when a mutation overlapped them, so in practice they see one
// consistent tree. Walk reads each node's children when it reaches that node,
// so a walk overlapping a mutation sees every node as it was when visited (a
// node moved during the walk may be seen in its old place, its new place, or
// neither). The renderers read the tree the same way as Walk.
//
// # Labels
//
// Error texts name nodes by their labels, and the renderers use the same
// labels when no describe function is given. A node's label is, in order:
// ShortLabel() of its value when the value has that method (services do); the
// value itself when it is a plain string; else the value's dynamic type name
// (as %T prints it, cut to 64 bytes); "node@<address>" for a node without a
// value (the renderers print "<nil>"). A value is never formatted with
// fmt.Sprint, String or its fields: it may be a large struct that other
// goroutines write while the label is made.
//
// ShortLabel is user code and may take the value's own lock, so no graph lock
// is held while it runs. The errors of Add, Reattach, Remove, Replace and
// TopoOrder only record the nodes involved; their text, labels included, is
// built each time Error is called, so a caller that mutates the tree while
// holding a service's lock does not call that service's ShortLabel. Call Error
// (or print the error) only where calling ShortLabel is safe.
//
// Package graph starts no goroutines and imports nothing from this module.
package graph
