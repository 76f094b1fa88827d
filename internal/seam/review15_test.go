package seam_test

import (
	"sync"
	"testing"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/seam"
)

// TestReview15Named: CallbackNode answers a supervisor's node only on its
// named goroutine, only while that goroutine runs a callback (nested ones
// counted), and nothing once the name is done; a goroutine named again
// (a supervisor started again) answers its new node; two named goroutines
// (nested supervisors) never see each other's.
func TestReview15Named(t *testing.T) {
	var root, outer, inner graph.Node
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.Add(&outer))
	must(outer.Add(&inner))
	on := func(fn func()) { // runs fn on a goroutine of its own
		done := make(chan struct{})
		go func() { defer close(done); fn() }()
		<-done
	}
	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"nested enters", func(t *testing.T) {
			on(func() {
				nm := seam.NameGoroutine(seam.Goid(), &outer)
				defer nm.Done()
				a := nm.Enter()
				b := nm.Enter()
				b.Exit()
				if got := seam.CallbackNode(); got != &outer {
					t.Errorf("after the inner exit: %p, want %p", got, &outer)
				}
				a.Exit()
				if got := seam.CallbackNode(); got != nil {
					t.Errorf("after both exits: %p", got)
				}
			})
		}},
		{"done while another goroutine is named", func(t *testing.T) {
			var other *seam.Named
			ready, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
			go func() {
				defer close(finished)
				other = seam.NameGoroutine(seam.Goid(), &inner)
				e := other.Enter()
				close(ready)
				<-release
				if got := seam.CallbackNode(); got != &inner {
					t.Errorf("inner's goroutine: %p, want %p", got, &inner)
				}
				e.Exit()
				other.Done()
			}()
			<-ready
			on(func() {
				nm := seam.NameGoroutine(seam.Goid(), &outer)
				if got := seam.CallbackNode(); got != nil {
					t.Errorf("outer's goroutine outside a callback, inner's inside one: %p", got)
				}
				e := nm.Enter()
				if got := seam.CallbackNode(); got != &outer {
					t.Errorf("outer's goroutine: %p, want %p", got, &outer)
				}
				e.Exit()
				nm.Done()
			})
			close(release)
			<-finished
		}},
		{"named again on a new goroutine", func(t *testing.T) {
			var first *seam.Named
			on(func() {
				first = seam.NameGoroutine(seam.Goid(), &outer)
				first.Done()
			})
			on(func() {
				nm := seam.NameGoroutine(seam.Goid(), &inner)
				defer nm.Done()
				// An entry on the first run's name (a stale load) does not
				// make this goroutine a callback's.
				stale := first.Enter()
				if got := seam.CallbackNode(); got != nil {
					t.Errorf("a stale name's entry: %p", got)
				}
				stale.Exit()
				e := nm.Enter()
				if got := seam.CallbackNode(); got != &inner {
					t.Errorf("%p, want the new node %p", got, &inner)
				}
				e.Exit()
			})
		}},
		{"entered from another goroutine", func(t *testing.T) {
			// A callback run on a caller's goroutine under the name of the
			// supervisor's: the caller is not named.
			nmc := make(chan *seam.Named)
			release, finished := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(finished)
				nm := seam.NameGoroutine(seam.Goid(), &outer)
				nmc <- nm
				<-release
				nm.Done()
			}()
			nm := <-nmc
			e := nm.Enter()
			if got := seam.CallbackNode(); got != nil {
				t.Errorf("the caller's goroutine: %p", got)
			}
			e.Exit()
			close(release)
			<-finished
		}},
		{"many at once", func(t *testing.T) {
			const n = 16
			nodes := make([]graph.Node, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					nm := seam.NameGoroutine(seam.Goid(), &nodes[i])
					defer nm.Done()
					for range 200 {
						if got := seam.CallbackNode(); got != nil {
							t.Errorf("goroutine %d outside a callback: %p", i, got)
							return
						}
						e := nm.Enter()
						if got := seam.CallbackNode(); got != &nodes[i] {
							t.Errorf("goroutine %d: %p, want %p", i, got, &nodes[i])
						}
						e.Exit()
					}
				})
			}
			wg.Wait()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
		if got := seam.CallbackNode(); got != nil {
			t.Fatalf("after %s, the test's goroutine: %p", tc.name, got)
		}
	}
}
