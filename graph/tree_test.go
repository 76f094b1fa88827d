package graph_test

import (
	"testing"

	"github.com/gomode/mode/graph"
)

// tree is a named test tree:
//
//	app
//	├── db
//	│   └── pool
//	│       └── conn
//	└── web
type tree map[string]*graph.Node

func newTree(t *testing.T) tree {
	t.Helper()
	tr := tree{}
	for _, name := range []string{"app", "db", "pool", "conn", "web"} {
		n := new(graph.Node)
		n.SetValue(name)
		tr[name] = n
	}
	for _, e := range [][2]string{{"app", "db"}, {"db", "pool"}, {"pool", "conn"}, {"app", "web"}} {
		if err := tr[e[0]].Add(tr[e[1]]); err != nil {
			t.Fatalf("Add %s -> %s: %v", e[0], e[1], err)
		}
	}
	return tr
}

// names maps nodes to their string values (nil nodes to "<nil>").
func names(ns []*graph.Node) []string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		if n == nil {
			out = append(out, "<nil>")
			continue
		}
		out = append(out, n.Value().(string))
	}
	return out
}

// shape renders the tree for comparisons before and after failed mutations.
func shape(root *graph.Node) string { return graph.Text(root, nil) }
