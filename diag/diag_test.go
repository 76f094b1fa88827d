package diag_test

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"unsafe"

	"github.com/gomode/mode/diag"
)

func TestZeroValue(t *testing.T) {
	var d diag.Diag
	if d.Len() != 0 || d.Has("x") || d.Flags() != nil || d.String() != "" {
		t.Fatalf("zero Diag not empty: len=%d flags=%v str=%q", d.Len(), d.Flags(), d.String())
	}
	d.Unset("x") // must not panic
	d.Clear()
	if size := unsafe.Sizeof(d); size > 32 {
		t.Errorf("Diag is %d bytes, want <= 32", size)
	}
}

func TestSetUnset(t *testing.T) {
	type op struct {
		set  bool
		flag string
	}
	tests := []struct {
		name string
		ops  []op
		want []string
	}{
		{"none", nil, nil},
		{"one", []op{{true, "a"}}, []string{"a"}},
		{"sorted", []op{{true, "c"}, {true, "a"}, {true, "b"}}, []string{"a", "b", "c"}},
		{"set twice is a set", []op{{true, "a"}, {true, "a"}}, []string{"a"}},
		{"set twice unset once removes", []op{{true, "a"}, {true, "a"}, {false, "a"}}, nil},
		{"unset missing", []op{{true, "a"}, {false, "b"}}, []string{"a"}},
		{"empty flag ignored", []op{{true, ""}}, nil},
		{"middle removed", []op{{true, "a"}, {true, "b"}, {true, "c"}, {false, "b"}}, []string{"a", "c"}},
		{"reuse after empty", []op{{true, "a"}, {false, "a"}, {true, "b"}}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d diag.Diag
			for _, o := range tt.ops {
				if o.set {
					d.Set(o.flag)
				} else {
					d.Unset(o.flag)
				}
			}
			if got := d.Flags(); !slices.Equal(got, tt.want) {
				t.Fatalf("Flags() = %v, want %v", got, tt.want)
			}
			if d.Len() != len(tt.want) {
				t.Fatalf("Len() = %d, want %d", d.Len(), len(tt.want))
			}
			for _, f := range tt.want {
				if !d.Has(f) {
					t.Fatalf("Has(%q) = false", f)
				}
			}
		})
	}
}

func TestFlagsIsSnapshot(t *testing.T) {
	var d diag.Diag
	d.Set("a")
	got := d.Flags()
	got[0] = "mutated"
	if !d.Has("a") || d.Has("mutated") {
		t.Fatal("Flags() aliases internal storage")
	}
}

func TestStringAndClear(t *testing.T) {
	var d diag.Diag
	d.Set("b")
	d.Set("a")
	if got := d.String(); got != "a, b" {
		t.Fatalf("String() = %q", got)
	}
	if got := fmt.Sprint(&d); got != "a, b" {
		t.Fatalf("fmt.Sprint = %q", got)
	}
	d.Clear()
	if d.Len() != 0 || d.Flags() != nil {
		t.Fatalf("after Clear: %v", d.Flags())
	}
}

func TestTransition(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		flag    string
		fn      func() error
		wantErr error
		ran     bool
	}{
		{"ok", "work", func() error { return nil }, nil, true},
		{"error returned", "work", func() error { return boom }, boom, true},
		{"nil fn", "work", nil, diag.ErrNilFunc, false},
		{"empty flag", "", func() error { return nil }, diag.ErrEmptyFlag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d diag.Diag
			ran := false
			var fn func() error
			if tt.fn != nil {
				fn = func() error {
					ran = true
					if !d.Has(tt.flag) {
						t.Errorf("flag %q not set during fn", tt.flag)
					}
					return tt.fn()
				}
			}
			err := d.Transition(tt.flag, fn)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if ran != tt.ran {
				t.Fatalf("ran = %v, want %v", ran, tt.ran)
			}
			if d.Len() != 0 {
				t.Fatalf("flags left after Transition: %v", d.Flags())
			}
		})
	}
}

func TestTransitionPanic(t *testing.T) {
	var d diag.Diag
	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Fatalf("recovered %v, want kaboom", r)
			}
		}()
		_ = d.Transition("work", func() error { panic("kaboom") })
	}()
	if d.Has("work") {
		t.Fatal("flag still set after panic")
	}
}

func TestConcurrent(t *testing.T) {
	var d diag.Diag
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("g%02d", g)
			for i := range 500 {
				d.Set(own)
				d.Set("shared")
				_ = d.Has("shared")
				_ = d.Flags()
				_ = d.String()
				_ = d.Len()
				_ = d.Transition(own+"-t", func() error { return nil })
				if i%2 == 0 {
					d.Unset("shared")
				}
				d.Unset(own)
			}
		}()
	}
	wg.Wait()
	for _, f := range d.Flags() {
		if f != "shared" {
			t.Fatalf("unexpected flag left: %q", f)
		}
	}
}
