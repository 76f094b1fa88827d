package seam_test

import (
	"context"
	"testing"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/seam"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Marks say which supervisors' goroutines wait for the code holding a ctx.
func TestMarks(t *testing.T) {
	var a, b, c seam.Owner
	bg := context.Background()
	ma := seam.WithMark(bg, &a, false)
	mab := seam.WithMark(ma, &b, true) // b's goroutine runs code a waits for
	mb := seam.WithMark(ma, &b, false) // b's own operation: a does not wait
	cases := []struct {
		name string
		ctx  context.Context
		sup  *seam.Owner
		want bool
	}{
		{"unmarked", bg, &a, false},
		{"own mark", ma, &a, true},
		{"other's mark", ma, &b, false},
		{"kept marks: inner", mab, &b, true},
		{"kept marks: outer", mab, &a, true},
		{"fresh mark drops the outer", mb, &a, false},
		{"never marked", mab, &c, false},
		{"copied", seam.CopyMarks(bg, mab), &a, true},
		{"copy of nothing", seam.CopyMarks(ma, bg), &a, true},
	}
	for _, tc := range cases {
		if got := seam.Marked(tc.ctx, tc.sup); got != tc.want {
			t.Errorf("%s: Marked = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A goroutine that runs a supervisor's callback is named, with the
// supervisor's node, only while it runs it; Under walks up the tree.
func TestCallbacks(t *testing.T) {
	var root, sup, other graph.Node
	if err := root.Add(&sup); err != nil {
		t.Fatal(err)
	}
	if seam.CallbackNode() != nil {
		t.Fatal("a callback before any")
	}
	named := seam.NameGoroutine(seam.Goid(), &sup)
	defer named.Done()
	if seam.CallbackNode() != nil {
		t.Fatal("a named goroutine is taken for a callback's before it enters one")
	}
	entry := named.Enter()
	if got := seam.CallbackNode(); got != &sup {
		t.Fatalf("CallbackNode = %p, want the supervisor's %p", got, &sup)
	}
	done := make(chan *graph.Node)
	go func() { done <- seam.CallbackNode() }()
	if got := <-done; got != nil {
		t.Fatal("another goroutine is taken for the callback's")
	}
	for _, tc := range []struct {
		at, n *graph.Node
		want  bool
	}{{&sup, &sup, true}, {&sup, &root, true}, {&sup, &other, false}, {nil, &root, false}} {
		if got := seam.Under(tc.at, tc.n); got != tc.want {
			t.Errorf("seam.Under(%p, %p) = %v, want %v", tc.at, tc.n, got, tc.want)
		}
	}
	// A nested callback (an event emitted from a callback) leaves the
	// outer one's entry in place.
	named.Enter().Exit()
	if got := seam.CallbackNode(); got != &sup {
		t.Fatalf("after a nested callback, CallbackNode = %p, want %p", got, &sup)
	}
	entry.Exit()
	if seam.CallbackNode() != nil {
		t.Fatal("still named after the callback")
	}
}
