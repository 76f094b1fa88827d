package graph_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gomode/mode/graph"
)

// TestConcurrentMutationsAndReads moves nodes around a tree from many
// goroutines while others walk it and read paths; run with -race. At the end
// the structure must still be a consistent forest.
func TestConcurrentMutationsAndReads(t *testing.T) {
	const n = 64
	var root graph.Node
	root.SetValue("root")
	nodes := make([]*graph.Node, n)
	for i := range nodes {
		nodes[i] = new(graph.Node)
		nodes[i].SetValue(fmt.Sprint(i))
		if err := root.Add(nodes[i]); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	for g := range 8 { // movers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				a, b := nodes[(g*31+i*7)%n], nodes[(g*17+i*13)%n]
				var err error
				switch i % 5 {
				case 0:
					err = a.Reattach(&root)
				case 1:
					a.Detach()
				case 2:
					err = b.Add(a)
					if errors.Is(err, graph.ErrHasParent) || errors.Is(err, graph.ErrAlreadyChild) {
						err = nil
					}
				case 3:
					if err = b.Remove(a); errors.Is(err, graph.ErrNotChild) {
						err = nil
					}
				default:
					err = a.Reattach(b)
				}
				if err != nil && !errors.Is(err, graph.ErrCycle) {
					t.Errorf("mutation: %v", err)
					return
				}
			}
		}()
	}
	for g := range 8 { // readers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 400 {
				x := nodes[(g+i)%n]
				path := x.Path()
				if len(path) == 0 || path[0] != x {
					t.Errorf("Path does not start at the node")
					return
				}
				_ = x.Depth()
				_ = x.Root()
				_ = x.Children()
				count := 0
				root.Walk(func(*graph.Node, int) bool { count++; return count < 10*n })
				if i%50 == 0 {
					_ = graph.Text(&root, nil)
				}
			}
		}()
	}
	wg.Wait()

	// Quiescent: every parent/child link is mutual and there is no cycle.
	for _, x := range append(nodes, &root) {
		if p := x.Parent(); p != nil && p.IndexOf(x) < 0 {
			t.Fatalf("%v has parent %v that does not list it", x.Value(), p.Value())
		}
		for _, c := range x.Children() {
			if c.Parent() != x {
				t.Fatalf("%v lists child %v whose parent is %v", x.Value(), c.Value(), c.Parent().Value())
			}
		}
		if d := x.Depth(); d > n {
			t.Fatalf("%v has depth %d: cycle", x.Value(), d)
		}
	}
}

// TestChildrenReadWhileAppended reads a node's children while another
// goroutine appends to them in place (and, in the second case, removes
// some, which makes a new list): every snapshot must be a prefix of the
// order the appender built, whatever list it was read from; run with -race.
func TestChildrenReadWhileAppended(t *testing.T) {
	for _, tc := range []struct {
		name     string
		removeAt int // every removeAt-th append removes the first child; 0: never
	}{
		{"appends only", 0},
		{"appends and removals", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 2000
			var root graph.Node
			nodes := make([]*graph.Node, n)
			for i := range nodes {
				nodes[i] = new(graph.Node)
			}
			pos := make(map[*graph.Node]int, n)
			for i, x := range nodes {
				pos[x] = i
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i, x := range nodes {
					if err := root.Add(x); err != nil {
						t.Error(err)
						return
					}
					if tc.removeAt > 0 && i%tc.removeAt == 0 {
						root.Children()[0].Detach()
					}
				}
			}()
			check := func(kids []*graph.Node) bool {
				for i := 1; i < len(kids); i++ {
					if pos[kids[i]] <= pos[kids[i-1]] {
						t.Errorf("children out of order at %d: node %d after node %d", i, pos[kids[i]], pos[kids[i-1]])
						return false
					}
				}
				return true
			}
			for reading := true; reading; {
				select {
				case <-done:
					reading = false
				default:
				}
				if !check(root.Children()) {
					return
				}
				var walked []*graph.Node
				root.Walk(func(x *graph.Node, d int) bool {
					if d == 1 {
						walked = append(walked, x)
					}
					return true
				})
				if !check(walked) {
					return
				}
			}
			want := n
			if tc.removeAt > 0 {
				want -= (n + tc.removeAt - 1) / tc.removeAt
			}
			if got := root.Len(); got != want {
				t.Fatalf("Len %d, want %d", got, want)
			}
		})
	}
}
