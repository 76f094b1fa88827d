package graph

import (
	"fmt"
	"slices"
	"strings"
)

// TopoOrder returns nodes in dependency-first order: every node comes after
// all the nodes deps returns for it. Nodes reachable only through deps are
// included too. The order is deterministic: nodes are taken in input order
// and each node's dependencies in the order deps returns them; duplicates
// appear once. A nil deps means no dependencies (the input order, without
// duplicates, is returned).
//
// A cycle gives an error wrapping ErrCycle that names the cycle by the
// nodes' labels, like "a -> b -> a" (each node depends on the next); as for
// Node.Add, the text is built when Error is called (see "Labels" in the
// package documentation). A nil node, in nodes or returned by deps, gives
// ErrNilNode. TopoOrder does not look at the tree structure (parents,
// children) at all, and calls deps at most once per node; it is safe for
// concurrent use as long as deps is.
func TopoOrder(nodes []*Node, deps func(*Node) []*Node) ([]*Node, error) {
	const (
		unseen = iota
		active
		done
	)
	state := make(map[*Node]uint8, len(nodes))
	order := make([]*Node, 0, len(nodes))
	var stack []*Node

	var visit func(n *Node) error
	visit = func(n *Node) error {
		switch state[n] {
		case done:
			return nil
		case active:
			i := len(stack) - 1
			for stack[i] != n {
				i--
			}
			cycle := append(slices.Clone(stack[i:]), n)
			return fail(ErrCycle, strings.Repeat("%s -> ", len(cycle)-1)+"%s", cycle...)
		}
		state[n] = active
		stack = append(stack, n)
		if deps != nil {
			for _, d := range deps(n) {
				if d == nil {
					return fail(ErrNilNode, "dependency of %s", n)
				}
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
		order = append(order, n)
		return nil
	}

	for i, n := range nodes {
		if n == nil {
			return nil, fmt.Errorf("%w: TopoOrder nodes[%d]", ErrNilNode, i)
		}
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}
