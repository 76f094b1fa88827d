package strategy

import (
	"math/rand/v2"
	"testing"
	"time"
)

// refWindow is the Window as it was before the ring held offsets: every
// timestamp kept as a time.Time, Len a scan from the newest.
type refWindow struct {
	in Intensity
	at []time.Time
}

func (r *refWindow) allow(now time.Time) bool {
	if r.in.Never {
		return false
	}
	for len(r.at) > 0 && now.Sub(r.at[0]) >= r.in.Window {
		r.at = r.at[1:]
	}
	if limit := r.in.MaxRestarts + 1; len(r.at) == limit {
		r.at = r.at[1:]
	}
	r.at = append(r.at, now)
	return len(r.at) <= r.in.MaxRestarts
}

func (r *refWindow) len(now time.Time) int {
	count := 0
	for i := len(r.at) - 1; i >= 0; i-- {
		if now.Sub(r.at[i]) >= r.in.Window {
			break
		}
		count++
	}
	return count
}

// TestReview13WindowAgainstReference drives a Window and the reference
// with the same timestamps (equal ones, steps longer than the window that
// empty the ring and move its base, Resets, wrap-around) and compares
// every Allow and the Len at moments around each timestamp, before and
// after it. Timestamps never go backward, as Window's doc asks.
func TestReview13WindowAgainstReference(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   Intensity
	}{
		{"zero max", Intensity{MaxRestarts: 0, Window: time.Second}},
		{"one", Intensity{MaxRestarts: 1, Window: time.Second}},
		{"small", Intensity{MaxRestarts: 3, Window: time.Second}},
		{"large", Intensity{MaxRestarts: 40, Window: time.Second}},
		{"zero window", Intensity{}},
		{"never", Intensity{Never: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, uint64(tt.in.MaxRestarts)))
			var w Window
			if tt.in != (Intensity{}) {
				p, err := NewWindow(tt.in)
				if err != nil {
					t.Fatal(err)
				}
				w = *p
			}
			ref := &refWindow{in: tt.in.Normalize()}
			now := ms(0)
			for step := range 5000 {
				switch r := rng.IntN(100); {
				case r < 30: // equal timestamp
				case r < 90:
					now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
				case r < 98: // beyond the window: the ring empties
					now = now.Add(time.Duration(1+rng.IntN(10)) * ref.in.Window)
				default:
					w.Reset()
					ref.at = nil
				}
				if got, want := w.Allow(now), ref.allow(now); got != want {
					t.Fatalf("step %d: Allow = %v, want %v", step, got, want)
				}
				for _, d := range []time.Duration{-time.Second, -1, 0, 1, ref.in.Window / 2, ref.in.Window - 1, ref.in.Window, ref.in.Window + 1} {
					if got, want := w.Len(now.Add(d)), ref.len(now.Add(d)); got != want {
						t.Fatalf("step %d: Len(now%+v) = %d, want %d", step, d, got, want)
					}
				}
			}
		})
	}
}

// TestReview13WindowMonotonicAndWall: timestamps read from the real clock
// carry a monotonic reading; Len and Allow agree with the reference on
// them, and on the same moments stripped of it (Round(0)), as a caller
// mixing both would pass.
func TestReview13WindowMonotonicAndWall(t *testing.T) {
	in := Intensity{MaxRestarts: 5, Window: 50 * time.Millisecond}
	w, _ := NewWindow(in)
	ref := &refWindow{in: in.Normalize()}
	start := time.Now()
	for i := range 40 {
		now := start.Add(time.Duration(i) * 7 * time.Millisecond)
		if i%2 == 1 {
			now = now.Round(0)
		}
		if got, want := w.Allow(now), ref.allow(now); got != want {
			t.Fatalf("%d: Allow = %v, want %v", i, got, want)
		}
		if got, want := w.Len(now), ref.len(now); got != want {
			t.Fatalf("%d: Len = %d, want %d", i, got, want)
		}
	}
}
