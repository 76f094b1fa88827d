package graph_test

import (
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/gomode/mode/graph"
)

func TestZeroNode(t *testing.T) {
	var n graph.Node
	if n.Parent() != nil || n.Children() != nil || n.Len() != 0 || n.Depth() != 0 || n.Value() != nil {
		t.Fatal("zero Node is not an empty root")
	}
	if n.Root() != &n {
		t.Fatal("zero Node's root is not itself")
	}
	if p := n.Path(); len(p) != 1 || p[0] != &n {
		t.Fatalf("Path() = %v", p)
	}
	n.Detach() // idempotent on a root
	if size := unsafe.Sizeof(n); size > 80 {
		t.Errorf("Node is %d bytes, want <= 80", size)
	}
}

func TestNilNode(t *testing.T) {
	var n *graph.Node
	if n.Parent() != nil || n.Children() != nil || n.Len() != 0 || n.Depth() != 0 ||
		n.Root() != nil || n.Path() != nil || n.Value() != nil || n.IndexOf(new(graph.Node)) != -1 {
		t.Fatal("nil Node reads are not zero")
	}
	n.SetValue(1)
	n.Detach()
	n.Walk(func(*graph.Node, int) bool { t.Fatal("walked nil"); return true })
}

func TestValue(t *testing.T) {
	var n graph.Node
	n.SetValue("a")
	n.SetValue("b") // a replacement takes over the node
	if n.Value() != "b" {
		t.Fatalf("Value() = %v", n.Value())
	}
	n.SetValue(nil)
	if n.Value() != nil {
		t.Fatalf("Value() = %v, want nil", n.Value())
	}
}

func TestReads(t *testing.T) {
	tr := newTree(t)
	tests := []struct {
		node     string
		parent   string
		children []string
		path     []string
		depth    int
	}{
		{"app", "", []string{"db", "web"}, []string{"app"}, 0},
		{"db", "app", []string{"pool"}, []string{"db", "app"}, 1},
		{"pool", "db", []string{"conn"}, []string{"pool", "db", "app"}, 2},
		{"conn", "pool", []string{}, []string{"conn", "pool", "db", "app"}, 3},
		{"web", "app", []string{}, []string{"web", "app"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.node, func(t *testing.T) {
			n := tr[tt.node]
			if tt.parent == "" && n.Parent() != nil || tt.parent != "" && n.Parent() != tr[tt.parent] {
				t.Errorf("Parent() = %v", n.Parent())
			}
			if got := names(n.Children()); !slices.Equal(got, tt.children) {
				t.Errorf("Children() = %v, want %v", got, tt.children)
			}
			if n.Len() != len(tt.children) {
				t.Errorf("Len() = %d", n.Len())
			}
			if got := names(n.Path()); !slices.Equal(got, tt.path) {
				t.Errorf("Path() = %v, want %v", got, tt.path)
			}
			if n.Depth() != tt.depth {
				t.Errorf("Depth() = %d, want %d", n.Depth(), tt.depth)
			}
			if n.Root() != tr["app"] {
				t.Errorf("Root() = %v", n.Root().Value())
			}
			for i, c := range tt.children {
				if n.IndexOf(tr[c]) != i {
					t.Errorf("IndexOf(%s) = %d, want %d", c, n.IndexOf(tr[c]), i)
				}
			}
		})
	}
	if tr["app"].IndexOf(tr["pool"]) != -1 || tr["app"].IndexOf(nil) != -1 {
		t.Error("IndexOf of a non-child is not -1")
	}
}

func TestChildrenIsSnapshot(t *testing.T) {
	tr := newTree(t)
	c := tr["app"].Children()
	c[0] = nil
	if tr["app"].Children()[0] != tr["db"] {
		t.Fatal("Children() aliases internal storage")
	}
}

func TestWalk(t *testing.T) {
	tr := newTree(t)
	type visit struct {
		name  string
		depth int
	}
	tests := []struct {
		name  string
		from  string
		prune string
		want  []visit
	}{
		{"all", "app", "", []visit{{"app", 0}, {"db", 1}, {"pool", 2}, {"conn", 3}, {"web", 1}}},
		{"subtree depth is relative", "db", "", []visit{{"db", 0}, {"pool", 1}, {"conn", 2}}},
		{"prune db", "app", "db", []visit{{"app", 0}, {"db", 1}, {"web", 1}}},
		{"prune root", "app", "app", []visit{{"app", 0}}},
		{"leaf", "web", "", []visit{{"web", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []visit
			tr[tt.from].Walk(func(n *graph.Node, depth int) bool {
				name := n.Value().(string)
				got = append(got, visit{name, depth})
				return name != tt.prune
			})
			if !slices.Equal(got, tt.want) {
				t.Fatalf("walk = %v, want %v", got, tt.want)
			}
		})
	}
	tr["app"].Walk(nil) // no panic
}

func TestReadsDoNotAllocate(t *testing.T) {
	tr := newTree(t)
	n := tr["conn"]
	if a := testing.AllocsPerRun(100, func() { _ = n.Depth(); _ = n.Root(); _ = n.Parent(); _ = n.Len() }); a != 0 {
		t.Errorf("Depth/Root/Parent/Len allocate %v times", a)
	}
}

// TestSetValueRaces stores values into fresh nodes from several goroutines
// at once while others read them: every read sees nil or one of the values
// stored, and the node ends with one of them; run with -race. The first
// store of a node is kept in the node itself (no allocation); later ones
// are boxed.
func TestSetValueRaces(t *testing.T) {
	for _, writers := range []int{1, 2, 4} {
		for range 200 {
			var n graph.Node
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(2)
				go func() { defer wg.Done(); n.SetValue(w) }()
				go func() {
					defer wg.Done()
					if v := n.Value(); v != nil && (v.(int) < 0 || v.(int) >= writers) {
						t.Errorf("Value() = %v, want nil or a stored value", v)
					}
				}()
			}
			wg.Wait()
			if v, ok := n.Value().(int); !ok || v < 0 || v >= writers {
				t.Fatalf("%d writers: Value() = %v at the end", writers, n.Value())
			}
		}
	}
	if a := testing.AllocsPerRun(100, func() { new(graph.Node).SetValue(1) }); a != 1 {
		t.Errorf("a node and its first value: %v allocations, want 1 (the node)", a)
	}
}
