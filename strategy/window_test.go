package strategy

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// ms is a time t0 plus n milliseconds.
func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestWindowAllow(t *testing.T) {
	type call struct {
		at   int // ms after t0
		want bool
	}
	tests := []struct {
		name  string
		in    Intensity
		calls []call
	}{
		{"default three in 5s", Intensity{}, []call{
			{0, true}, {1000, true}, {2000, true}, {3000, false},
		}},
		{"old restart leaves exactly at Window", Intensity{}, []call{
			{0, true}, {1000, true}, {2000, true}, {5000, true},
		}},
		{"just inside Window still counts", Intensity{}, []call{
			{0, true}, {1000, true}, {2000, true}, {4999, false},
		}},
		{"sliding", Intensity{MaxRestarts: 2, Window: time.Second}, []call{
			{0, true}, {500, true}, {1000, true}, {1499, false}, {3000, true}, {3000, true}, {3000, false},
		}},
		{"one in a window", Intensity{MaxRestarts: 1, Window: time.Second}, []call{
			{0, true}, {999, false}, {2999, true}, {3998, false},
		}},
		{"same instant", Intensity{MaxRestarts: 2, Window: time.Second}, []call{
			{7, true}, {7, true}, {7, false},
		}},
		{"never", Intensity{Never: true}, []call{
			{0, false}, {10000, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWindow(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range tt.calls {
				if got := w.Allow(ms(c.at)); got != c.want {
					t.Fatalf("call %d at %dms: Allow = %v, want %v", i, c.at, got, c.want)
				}
			}
		})
	}
}

func TestWindowLen(t *testing.T) {
	w, err := NewWindow(Intensity{MaxRestarts: 5, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{0, 200, 400} {
		w.Allow(ms(at))
	}
	tests := []struct {
		at   int
		want int
	}{
		{400, 3}, {999, 3}, {1000, 2}, {1199, 2}, {1200, 1}, {1400, 0}, {5000, 0},
	}
	for _, tt := range tests {
		if got := w.Len(ms(tt.at)); got != tt.want {
			t.Errorf("Len(%dms) = %d, want %d", tt.at, got, tt.want)
		}
	}
	// Len does not change the window.
	if got := w.Len(ms(400)); got != 3 {
		t.Fatalf("Len after later queries = %d, want 3", got)
	}
}

func TestWindowReset(t *testing.T) {
	w, err := NewWindow(Intensity{MaxRestarts: 1, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.Allow(ms(0))
	if w.Allow(ms(1)) {
		t.Fatal("second restart within the hour allowed")
	}
	w.Reset()
	if w.Len(ms(2)) != 0 {
		t.Fatal("Len after Reset")
	}
	if !w.Allow(ms(2)) {
		t.Fatal("restart after Reset refused")
	}
}

func TestWindowZeroValue(t *testing.T) {
	var w Window
	if got := w.Intensity(); got != (Intensity{MaxRestarts: DefaultMaxRestarts, Window: DefaultWindow}) {
		t.Fatalf("zero Window intensity = %+v", got)
	}
	var z Window
	for i, want := range []bool{true, true, true, false} {
		if got := z.Allow(ms(i)); got != want {
			t.Fatalf("zero Window call %d: Allow = %v, want %v", i, got, want)
		}
	}
}

func TestWindowMemoryBounded(t *testing.T) {
	tests := []struct {
		name string
		max  int
	}{{"one", 1}, {"three", 3}, {"ten", 10}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWindow(Intensity{MaxRestarts: tt.max, Window: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 1000 {
				w.Allow(ms(i))
			}
			if len(w.buf) > tt.max+1 {
				t.Fatalf("ring holds %d slots, want ≤ %d", len(w.buf), tt.max+1)
			}
			if got := w.Len(ms(1000)); got != tt.max+1 {
				t.Fatalf("Len = %d, want %d", got, tt.max+1)
			}
		})
	}
}

func TestWindowHugeMax(t *testing.T) {
	w, err := NewWindow(Intensity{MaxRestarts: math.MaxInt, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if !w.Allow(ms(i)) {
			t.Fatalf("restart %d refused", i)
		}
	}
	if len(w.buf) > 128 {
		t.Fatalf("ring grew to %d slots for 100 restarts", len(w.buf))
	}
}

func TestNewWindowErrors(t *testing.T) {
	tests := []struct {
		name string
		in   Intensity
		want error
	}{
		{"negative", Intensity{MaxRestarts: -3}, ErrBadSpec},
		{"conflict", Intensity{Never: true, Window: time.Second}, ErrConflictingOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWindow(tt.in)
			if !errors.Is(err, tt.want) || w != nil {
				t.Fatalf("NewWindow = %v, %v; want nil, %v", w, err, tt.want)
			}
		})
	}
}

// TestWindowLenMatchesCount checks Len's binary search against a count of
// the timestamps held, on rings that have wrapped (the oldest overwritten)
// and rings that have not, with repeated timestamps, at every moment
// around each timestamp.
func TestWindowLenMatchesCount(t *testing.T) {
	for _, tt := range []struct {
		name   string
		max    int
		pushes []int // ms, in order
	}{
		{"empty", 3, nil},
		{"one", 3, []int{10}},
		{"not wrapped", 9, []int{0, 5, 5, 100, 700, 999, 1000}},
		{"wrapped", 4, []int{0, 100, 200, 300, 400, 500, 600, 650, 650, 1300}},
		{"wrapped twice", 2, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 1005, 1006}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w, err := NewWindow(Intensity{MaxRestarts: tt.max, Window: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			for _, at := range tt.pushes {
				w.Allow(ms(at))
			}
			for _, at := range tt.pushes {
				for _, now := range []int{at - 1, at, at + 1, at + 999, at + 1000, at + 1001} {
					want := 0
					for i := range w.n {
						if ms(now).Sub(w.base.Add(w.at(i))) < time.Second {
							want++
						}
					}
					if got := w.Len(ms(now)); got != want {
						t.Errorf("Len(%dms) = %d, want %d", now, got, want)
					}
				}
			}
		})
	}
}
