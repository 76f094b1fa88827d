package strategy

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestBackoffValidate(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		want error
	}{
		{"zero disabled", Backoff{}, nil},
		{"full", Backoff{Min: time.Second, Max: time.Minute, Factor: 1.5, Jitter: 0.1, ResetAfter: time.Hour}, nil},
		{"min equals max", Backoff{Min: time.Second, Max: time.Second}, nil},
		{"min above default max", Backoff{Min: time.Hour}, nil},
		{"factor one", Backoff{Factor: 1}, nil},
		{"jitter one", Backoff{Jitter: 1}, nil},
		{"no jitter", Backoff{Min: time.Second, NoJitter: true}, nil},
		{"negative min", Backoff{Min: -1}, ErrBadSpec},
		{"negative max", Backoff{Max: -1}, ErrBadSpec},
		{"negative reset", Backoff{ResetAfter: -1}, ErrBadSpec},
		{"min above max", Backoff{Min: 2 * time.Second, Max: time.Second}, ErrBadSpec},
		{"factor below one", Backoff{Factor: 0.5}, ErrBadSpec},
		{"negative factor", Backoff{Factor: -2}, ErrBadSpec},
		{"nan factor", Backoff{Factor: math.NaN()}, ErrBadSpec},
		{"inf factor", Backoff{Factor: math.Inf(1)}, ErrBadSpec},
		{"negative jitter", Backoff{Jitter: -0.1}, ErrBadSpec},
		{"jitter above one", Backoff{Jitter: 1.5}, ErrBadSpec},
		{"nan jitter", Backoff{Jitter: math.NaN()}, ErrBadSpec},
		{"no jitter with jitter", Backoff{Jitter: 0.3, NoJitter: true}, ErrConflictingOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.Validate()
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBackoffNormalize(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		want Backoff
	}{
		{"zero stays disabled", Backoff{}, Backoff{}},
		{"defaults", Backoff{NoJitter: true},
			Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second, Factor: 2, ResetAfter: 100 * time.Second, NoJitter: true}},
		{"min only", Backoff{Min: time.Second},
			Backoff{Min: time.Second, Max: 10 * time.Second, Factor: 2, Jitter: 0.2, ResetAfter: 100 * time.Second}},
		{"min above default max", Backoff{Min: time.Minute},
			Backoff{Min: time.Minute, Max: time.Minute, Factor: 2, Jitter: 0.2, ResetAfter: 10 * time.Minute}},
		{"max below default min", Backoff{Max: 10 * time.Millisecond},
			Backoff{Min: 10 * time.Millisecond, Max: 10 * time.Millisecond, Factor: 2, Jitter: 0.2, ResetAfter: 100 * time.Millisecond}},
		{"explicit kept", Backoff{Min: 1, Max: 2, Factor: 3, Jitter: 0.5, ResetAfter: 4},
			Backoff{Min: 1, Max: 2, Factor: 3, Jitter: 0.5, ResetAfter: 4}},
		{"reset overflow saturates", Backoff{Max: math.MaxInt64 / 2},
			Backoff{Min: 100 * time.Millisecond, Max: math.MaxInt64 / 2, Factor: 2, Jitter: 0.2, ResetAfter: math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Normalize(); got != tt.want {
				t.Fatalf("Normalize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// newState builds a BackoffState or fails the test.
func newState(t *testing.T, b Backoff) *BackoffState {
	t.Helper()
	s, err := NewBackoffState(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBackoffGrowth(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
		want []time.Duration
	}{
		{"doubling to cap", Backoff{Min: time.Second, Max: 10 * time.Second, NoJitter: true},
			[]time.Duration{1, 2, 4, 8, 10, 10, 10}},
		{"factor three", Backoff{Min: time.Second, Max: time.Minute, Factor: 3, NoJitter: true},
			[]time.Duration{1, 3, 9, 27, 60, 60}},
		{"factor one constant", Backoff{Min: 2 * time.Second, Max: time.Minute, Factor: 1, NoJitter: true},
			[]time.Duration{2, 2, 2}},
		{"min equals max", Backoff{Min: 5 * time.Second, Max: 5 * time.Second, NoJitter: true},
			[]time.Duration{5, 5, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, tt.b)
			now := t0
			for i, want := range tt.want {
				// Crash right after each restart: no quiet period.
				got := s.Next(now, 0.99)
				if got != want*time.Second {
					t.Fatalf("delay %d = %v, want %v", i, got, want*time.Second)
				}
				if s.Attempt() != i+1 {
					t.Fatalf("Attempt = %d, want %d", s.Attempt(), i+1)
				}
				now = now.Add(got)
			}
		})
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	b := Backoff{Min: 10 * time.Second, Max: time.Minute, Jitter: 0.2}
	tests := []struct {
		name string
		rnd  float64
		want time.Duration
	}{
		{"rnd 0 lowest", 0, 8 * time.Second},
		{"rnd 0.5 none", 0.5, 10 * time.Second},
		{"rnd 0.75", 0.75, 11 * time.Second},
		{"rnd 1 highest", 1, 12 * time.Second},
		{"below range clamped", -3, 8 * time.Second},
		{"above range clamped", 7, 12 * time.Second},
		{"nan is centre", math.NaN(), 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, b)
			if got := s.Next(t0, tt.rnd); got != tt.want {
				t.Fatalf("Next = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoffJitterNeverExceedsMax(t *testing.T) {
	s := newState(t, Backoff{Min: time.Second, Max: 4 * time.Second, Jitter: 1})
	now := t0
	for i := range 50 {
		rnd := float64(i%10) / 10
		d := s.Next(now, rnd)
		if d < 0 || d > 4*time.Second {
			t.Fatalf("delay %d = %v outside [0, Max]", i, d)
		}
		now = now.Add(d)
	}
}

func TestBackoffResetAfterQuiet(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute, ResetAfter: 30 * time.Second, NoJitter: true}
	tests := []struct {
		name    string
		uptime  time.Duration // how long the child ran after its 3rd restart
		wantNth time.Duration // the 4th delay
	}{
		{"crash at once", 0, 8 * time.Second},
		{"just under quiet period", 30*time.Second - 1, 8 * time.Second},
		{"exactly quiet period", 30 * time.Second, time.Second},
		{"long quiet", time.Hour, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, b)
			now := t0
			for range 3 {
				now = now.Add(s.Next(now, 0))
			}
			if got := s.Next(now.Add(tt.uptime), 0); got != tt.wantNth {
				t.Fatalf("4th delay = %v, want %v", got, tt.wantNth)
			}
		})
	}
}

func TestBackoffReset(t *testing.T) {
	s := newState(t, Backoff{Min: time.Second, Max: time.Minute, NoJitter: true})
	s.Next(t0, 0)
	s.Next(t0, 0)
	s.Reset()
	if s.Attempt() != 0 {
		t.Fatalf("Attempt after Reset = %d", s.Attempt())
	}
	if got := s.Next(t0, 0); got != time.Second {
		t.Fatalf("delay after Reset = %v, want 1s", got)
	}
}

func TestBackoffDisabled(t *testing.T) {
	var zero BackoffState
	s := newState(t, Backoff{})
	for _, st := range []*BackoffState{&zero, s} {
		for range 3 {
			if d := st.Next(t0, 0.9); d != 0 {
				t.Fatalf("disabled Next = %v, want 0", d)
			}
		}
	}
	if s.Backoff().Enabled() {
		t.Fatal("zero Backoff enabled")
	}
}

func TestBackoffHugeMax(t *testing.T) {
	s := newState(t, Backoff{Min: time.Nanosecond, Max: math.MaxInt64, Jitter: 1})
	prev := time.Duration(0)
	for i := range 200 {
		d := s.Next(t0, 0.5)
		if d < prev || d < 0 {
			t.Fatalf("delay %d = %v after %v", i, d, prev)
		}
		prev = d
	}
	if prev != math.MaxInt64 {
		t.Fatalf("final delay %v, want the cap", prev)
	}
	if got := s.Next(t0, 1); got != math.MaxInt64 {
		t.Fatalf("jittered cap = %v", got)
	}
}

func TestNewBackoffStateError(t *testing.T) {
	if s, err := NewBackoffState(Backoff{Min: -1}); !errors.Is(err, ErrBadSpec) || s != nil {
		t.Fatalf("NewBackoffState = %v, %v", s, err)
	}
}
