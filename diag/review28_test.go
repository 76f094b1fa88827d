package diag_test

// Review 28: hostile tests of package diag.

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/gomode/mode/diag"
)

// TestReview28OddFlags: empty, odd and invalid-UTF-8 flags behave as a
// plain set ordered byte-wise.
func TestReview28OddFlags(t *testing.T) {
	var d diag.Diag
	for _, f := range []string{"", "b", "a/b", "\xff\xfe", "a, b", "é", "b", "A"} {
		d.Set(f)
	}
	want := []string{"A", "a, b", "a/b", "b", "é", "\xff\xfe"}
	if got := d.Flags(); !slices.Equal(got, want) {
		t.Fatalf("Flags = %q, want %q", got, want)
	}
	if d.Len() != len(want) || d.Has("") {
		t.Fatalf("Len %d, Has(\"\") %v", d.Len(), d.Has(""))
	}
	d.Unset("")
	d.Unset("missing")
	d.Unset("b")
	if d.Has("b") || d.Len() != len(want)-1 {
		t.Fatal("Unset b")
	}
	d.Clear()
	if d.Flags() != nil || d.String() != "" || d.Len() != 0 {
		t.Fatal("Clear")
	}
	d.Set("again")
	if d.String() != "again" {
		t.Fatalf("after Clear: %q", d.String())
	}
}

// TestReview28TransitionBadInput: nil fn and empty flag are refused
// without setting anything; both bad gives ErrNilFunc.
func TestReview28TransitionBadInput(t *testing.T) {
	for _, tc := range []struct {
		flag string
		fn   func() error
		want error
	}{
		{"x", nil, diag.ErrNilFunc},
		{"", nil, diag.ErrNilFunc},
		{"", func() error { t.Fatal("ran"); return nil }, diag.ErrEmptyFlag},
	} {
		var d diag.Diag
		if err := d.Transition(tc.flag, tc.fn); !errors.Is(err, tc.want) {
			t.Errorf("Transition(%q) = %v, want %v", tc.flag, err, tc.want)
		}
		if d.Len() != 0 {
			t.Errorf("Transition(%q) left %v", tc.flag, d.Flags())
		}
	}
}

// TestReview28TransitionGoexit: the flag is unset when fn ends its
// goroutine with runtime.Goexit (t.FailNow inside a transition).
func TestReview28TransitionGoexit(t *testing.T) {
	var d diag.Diag
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Transition("busy", func() error { runtime.Goexit(); return nil })
	}()
	<-done
	if d.Has("busy") {
		t.Fatal("flag left set after Goexit")
	}
}

// TestReview28TransitionPanicValue: the panic continues unchanged and the
// flag is gone when it is recovered; fn's error is returned unchanged.
func TestReview28TransitionPanicValue(t *testing.T) {
	var d diag.Diag
	sentinel := errors.New("boom")
	func() {
		defer func() {
			if r := recover(); r != sentinel {
				t.Fatalf("recovered %v", r)
			}
		}()
		_ = d.Transition("p", func() error { panic(sentinel) })
	}()
	if d.Has("p") {
		t.Fatal("flag left set after panic")
	}
	if err := d.Transition("e", func() error { return sentinel }); err != sentinel {
		t.Fatalf("error changed: %v", err)
	}
}

// TestReview28ConcurrentSameName sets and unsets the same flags from many
// goroutines (run with -race) while others read; at the end the set is
// exactly the flags set last, sorted and without duplicates.
func TestReview28ConcurrentSameName(t *testing.T) {
	var d diag.Diag
	names := []string{"a", "b", "c", "a", "same", "same"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				f := names[(g+i)%len(names)]
				switch i % 4 {
				case 0, 1:
					d.Set(f)
				case 2:
					d.Unset(f)
				default:
					_ = d.Transition(f, func() error { _ = d.Flags(); return nil })
				}
				fl := d.Flags()
				if !slices.IsSorted(fl) || len(slices.Compact(slices.Clone(fl))) != len(fl) {
					t.Errorf("Flags %q not a sorted set", fl)
					return
				}
				_ = d.String()
				_ = d.Has(f)
				_ = d.Len()
				if i%97 == 0 {
					d.Clear()
				}
			}
		}()
	}
	wg.Wait()
	d.Clear()
	for _, f := range names {
		d.Set(f)
	}
	if got := fmt.Sprint(d.Flags()); got != "[a b c same]" {
		t.Fatalf("Flags = %s", got)
	}
}

// TestReview28ManyFlags: 5 000 distinct flags (Set and Unset at the front, the worst case of the sorted slice) stay sorted and are found.
func TestReview28ManyFlags(t *testing.T) {
	var d diag.Diag
	const n = 5_000
	for i := n - 1; i >= 0; i-- {
		d.Set(fmt.Sprintf("f%06d", i))
	}
	if d.Len() != n || !slices.IsSorted(d.Flags()) || !d.Has("f001234") {
		t.Fatal("many flags")
	}
	for i := range n {
		d.Unset(fmt.Sprintf("f%06d", i))
	}
	if d.Len() != 0 || d.Flags() != nil {
		t.Fatal("not emptied")
	}
}
