package graph_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gomode/mode/graph"
)

func TestAddErrors(t *testing.T) {
	tests := []struct {
		name    string
		parent  string
		child   string // "" means nil, "new" a fresh node
		wantErr error
		mention []string
	}{
		{"nil child", "app", "", graph.ErrNilNode, nil},
		{"self", "db", "db", graph.ErrCycle, []string{"db"}},
		{"parent", "db", "app", graph.ErrCycle, []string{"app", "db"}},
		{"grandparent", "conn", "app", graph.ErrCycle, []string{"app", "conn"}},
		{"already child", "app", "db", graph.ErrAlreadyChild, []string{"db", "app"}},
		{"has other parent", "web", "pool", graph.ErrHasParent, []string{"pool", "web", "db"}},
		{"ok", "web", "new", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			var child *graph.Node
			switch tt.child {
			case "":
			case "new":
				child = new(graph.Node)
			default:
				child = tr[tt.child]
			}
			before := shape(tr["app"])
			err := tr[tt.parent].Add(child)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil {
				if child.Parent() != tr[tt.parent] {
					t.Fatal("child not attached")
				}
				return
			}
			if !strings.HasPrefix(err.Error(), "mode: ") {
				t.Errorf("error %q does not start with mode: ", err)
			}
			for _, m := range tt.mention {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not name %s", err, m)
				}
			}
			if after := shape(tr["app"]); after != before {
				t.Fatalf("tree changed on error:\n%s\nwas:\n%s", after, before)
			}
		})
	}
}

func TestAddOnNilReceiver(t *testing.T) {
	var n *graph.Node
	if err := n.Add(new(graph.Node)); !errors.Is(err, graph.ErrNilNode) {
		t.Fatalf("err = %v", err)
	}
	if err := n.Reattach(nil); !errors.Is(err, graph.ErrNilNode) {
		t.Fatalf("err = %v", err)
	}
	if err := n.Remove(new(graph.Node)); !errors.Is(err, graph.ErrNilNode) {
		t.Fatalf("err = %v", err)
	}
}

func TestReattach(t *testing.T) {
	tests := []struct {
		name    string
		node    string
		parent  string // "" means nil
		wantErr error
		want    string
	}{
		{"move subtree", "pool", "web", nil, "app\n├── db\n└── web\n    └── pool\n        └── conn\n"},
		{"same parent keeps position", "db", "app", nil, "app\n├── db\n│   └── pool\n│       └── conn\n└── web\n"},
		{"nil detaches", "db", "", nil, "app\n└── web\n"},
		{"under itself", "db", "db", graph.ErrCycle, ""},
		{"under child", "db", "pool", graph.ErrCycle, ""},
		{"under grandchild", "db", "conn", graph.ErrCycle, ""},
		{"root under descendant", "app", "conn", graph.ErrCycle, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t)
			before := shape(tr["app"])
			err := tr[tt.node].Reattach(tr[tt.parent])
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			want := tt.want
			if err != nil {
				want = before
			}
			if got := shape(tr["app"]); got != want {
				t.Fatalf("tree:\n%s\nwant:\n%s", got, want)
			}
			if err == nil && tt.parent != "" && tr[tt.node].Parent() != tr[tt.parent] {
				t.Fatal("parent pointer not updated")
			}
		})
	}
}

func TestDetachIdempotent(t *testing.T) {
	tr := newTree(t)
	for range 3 {
		tr["db"].Detach()
		if tr["db"].Parent() != nil || tr["app"].IndexOf(tr["db"]) != -1 {
			t.Fatal("db still attached")
		}
		if got := names(tr["app"].Children()); !slices.Equal(got, []string{"web"}) {
			t.Fatalf("app children = %v", got)
		}
		if got := names(tr["conn"].Path()); !slices.Equal(got, []string{"conn", "pool", "db"}) {
			t.Fatalf("detached subtree path = %v", got)
		}
	}
	// A detached node can be added again, at the end.
	if err := tr["app"].Add(tr["db"]); err != nil {
		t.Fatal(err)
	}
	if got := names(tr["app"].Children()); !slices.Equal(got, []string{"web", "db"}) {
		t.Fatalf("app children = %v", got)
	}
}

func TestRemove(t *testing.T) {
	tr := newTree(t)
	if err := tr["app"].Remove(tr["pool"]); !errors.Is(err, graph.ErrNotChild) {
		t.Fatalf("remove grandchild: err = %v", err)
	}
	if err := tr["app"].Remove(nil); !errors.Is(err, graph.ErrNilNode) {
		t.Fatalf("remove nil: err = %v", err)
	}
	if err := tr["app"].Remove(tr["db"]); err != nil {
		t.Fatal(err)
	}
	if err := tr["app"].Remove(tr["db"]); !errors.Is(err, graph.ErrNotChild) {
		t.Fatalf("second remove: err = %v", err)
	}
	if got := shape(tr["app"]); got != "app\n└── web\n" {
		t.Fatalf("tree:\n%s", got)
	}
}

func TestOrderAfterRemoveMiddle(t *testing.T) {
	var root graph.Node
	kids := make([]*graph.Node, 5)
	for i := range kids {
		kids[i] = new(graph.Node)
		kids[i].SetValue(string(rune('a' + i)))
		if err := root.Add(kids[i]); err != nil {
			t.Fatal(err)
		}
	}
	snap := root.Children()
	if err := root.Remove(kids[2]); err != nil {
		t.Fatal(err)
	}
	if err := root.Add(kids[2]); err != nil {
		t.Fatal(err)
	}
	if got := names(root.Children()); !slices.Equal(got, []string{"a", "b", "d", "e", "c"}) {
		t.Fatalf("children = %v", got)
	}
	if got := names(snap); !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("old snapshot changed: %v", got)
	}
}

func TestReplace(t *testing.T) {
	root, a, b, c, fresh := &graph.Node{}, &graph.Node{}, &graph.Node{}, &graph.Node{}, &graph.Node{}
	for _, k := range []*graph.Node{a, b, c} {
		if err := root.Add(k); err != nil {
			t.Fatal(err)
		}
	}
	before := root.Children()
	if err := root.Replace(b, fresh); err != nil {
		t.Fatal(err)
	}
	if got := root.Children(); len(got) != 3 || got[0] != a || got[1] != fresh || got[2] != c {
		t.Fatalf("children %v", got)
	}
	if before[1] != b {
		t.Fatal("an earlier snapshot changed")
	}
	if b.Parent() != nil || fresh.Parent() != root {
		t.Fatal("parents not updated")
	}
	for _, tc := range []struct {
		name       string
		old, fresh *graph.Node
		want       error
	}{
		{"nil", a, nil, graph.ErrNilNode},
		{"not a child", b, &graph.Node{}, graph.ErrNotChild},
		{"fresh has a parent", a, c, graph.ErrHasParent},
		{"fresh is the parent", a, root, graph.ErrCycle},
	} {
		if err := root.Replace(tc.old, tc.fresh); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if root.Len() != 3 {
		t.Fatalf("tree changed on error: %d children", root.Len())
	}
}
