package strategy

// Review 28: hostile tests of package strategy (extreme numbers, bad input).

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

// TestReview28BackoffValidate: every bad number is refused with the
// documented sentinel, and the extreme good ones are accepted.
func TestReview28BackoffValidate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, tc := range []struct {
		name string
		b    Backoff
		want error
	}{
		{"Min -1", Backoff{Min: -1}, ErrBadSpec},
		{"Max -1", Backoff{Max: -1}, ErrBadSpec},
		{"ResetAfter min", Backoff{ResetAfter: math.MinInt64}, ErrBadSpec},
		{"Min > Max", Backoff{Min: 2, Max: 1}, ErrBadSpec},
		{"Factor NaN", Backoff{Factor: nan}, ErrBadSpec},
		{"Factor +Inf", Backoff{Factor: inf}, ErrBadSpec},
		{"Factor -Inf", Backoff{Factor: -inf}, ErrBadSpec},
		{"Factor 0.999", Backoff{Factor: 0.999}, ErrBadSpec},
		{"Factor -1", Backoff{Factor: -1}, ErrBadSpec},
		{"Factor -0", Backoff{Factor: math.Copysign(0, -1), Min: 1}, nil},
		{"Jitter NaN", Backoff{Jitter: nan}, ErrBadSpec},
		{"Jitter +Inf", Backoff{Jitter: inf}, ErrBadSpec},
		{"Jitter -Inf", Backoff{Jitter: -inf}, ErrBadSpec},
		{"Jitter 1.0000001", Backoff{Jitter: 1.0000001}, ErrBadSpec},
		{"Jitter -tiny", Backoff{Jitter: -math.SmallestNonzeroFloat64}, ErrBadSpec},
		{"NoJitter+Jitter", Backoff{NoJitter: true, Jitter: 0.1}, ErrConflictingOptions},
		{"Factor MaxFloat64", Backoff{Factor: math.MaxFloat64}, nil},
		{"Jitter 1", Backoff{Jitter: 1}, nil},
		{"Max MaxInt64", Backoff{Max: math.MaxInt64}, nil},
		{"Min=Max=1ns", Backoff{Min: 1, Max: 1}, nil},
	} {
		err := tc.b.Validate()
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Validate = %v, want %v", tc.name, err, tc.want)
		}
		if _, err2 := NewBackoffState(tc.b); (err2 == nil) != (err == nil) {
			t.Errorf("%s: NewBackoffState disagrees with Validate: %v", tc.name, err2)
		}
	}
}

// TestReview28BackoffExtremes drives Next with extreme but valid settings
// and non-finite or out-of-range draws: every delay is within [0, Max],
// never NaN-derived garbage, and without jitter never shrinks before a
// reset.
func TestReview28BackoffExtremes(t *testing.T) {
	draws := []float64{0, 0.5, 0.999999, 1, -1, 2, math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64}
	for _, b := range []Backoff{
		{Min: 1, Max: math.MaxInt64, Factor: math.MaxFloat64},
		{Min: 1, Max: math.MaxInt64, Factor: 1.0000000001},
		{Min: math.MaxInt64 / 2, Max: math.MaxInt64, Factor: 2},
		{Min: math.MaxInt64, Max: math.MaxInt64},
		{Min: 1, Max: 1, Jitter: 1},
		{Max: 1},
		{Min: time.Hour},
		{Factor: 1, NoJitter: true},
		{Jitter: 1, Max: math.MaxInt64},
		{ResetAfter: 1},
	} {
		s, err := NewBackoffState(b)
		if err != nil {
			t.Fatalf("%+v: %v", b, err)
		}
		c := s.Backoff()
		if c.Min <= 0 || c.Max < c.Min || c.ResetAfter <= 0 || c.Factor < 1 {
			t.Fatalf("%+v normalized to %+v", b, c)
		}
		now := time.Time{}
		for i := range 2000 {
			r := draws[i%len(draws)]
			d := s.Next(now, r)
			if d < 0 || d > c.Max {
				t.Fatalf("%+v: Next #%d (rnd %v) = %v, outside [0, %v]", b, i, r, d, c.Max)
			}
			if r == 0.5 || c.Jitter == 0 {
				if want := min(c.Max, c.Min); i == 0 && d != want {
					t.Fatalf("%+v: first delay %v, want %v", b, d, want)
				}
			}
			if s.Attempt() != i+1 && c.ResetAfter > 1 {
				t.Fatalf("%+v: Attempt %d after %d calls", b, s.Attempt(), i+1)
			}
		}
	}
	// Without jitter and without a quiet period, delays never shrink and
	// reach Max.
	s, err := NewBackoffState(Backoff{Min: 1, Max: math.MaxInt64, Factor: 3, NoJitter: true})
	if err != nil {
		t.Fatal(err)
	}
	prev := time.Duration(0)
	for i := range 200 {
		d := s.Next(time.Time{}, 0)
		if d < prev {
			t.Fatalf("delay #%d %v < previous %v", i, d, prev)
		}
		prev = d
	}
	if prev != math.MaxInt64 {
		t.Fatalf("never reached Max: %v", prev)
	}
}

// TestReview28BackoffTimeBackwards: a now earlier than the last restart
// (a clock going back) neither resets nor panics; a later quiet period
// does reset.
func TestReview28BackoffTimeBackwards(t *testing.T) {
	s, err := NewBackoffState(Backoff{Min: time.Second, Max: time.Minute, NoJitter: true, ResetAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Next(t0, 0)
	s.Next(t0, 0)
	if d := s.Next(t0.Add(-1000*time.Hour), 0); d != 4*time.Second {
		t.Fatalf("after a step back: %v, want 4s", d)
	}
	if d := s.Next(t0.Add(100*time.Hour), 0); d != time.Second {
		t.Fatalf("after a quiet period: %v, want 1s", d)
	}
	if d := s.Next(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0); d != time.Second {
		t.Fatalf("after centuries: %v, want 1s", d)
	}
}

// TestReview28ZeroBackoffState: the zero BackoffState is disabled.
func TestReview28ZeroBackoffState(t *testing.T) {
	var s BackoffState
	if d := s.Next(time.Now(), 0.3); d != 0 || s.Attempt() != 0 || s.Backoff() != (Backoff{}) {
		t.Fatalf("zero state: %v, attempt %d", d, s.Attempt())
	}
	s.Reset()
}

// TestReview28IntensityBadInput: negative values and Never with anything
// else are refused; NewWindow agrees with Validate.
func TestReview28IntensityBadInput(t *testing.T) {
	for _, tc := range []struct {
		in   Intensity
		want error
	}{
		{Intensity{MaxRestarts: -1}, ErrBadSpec},
		{Intensity{MaxRestarts: math.MinInt}, ErrBadSpec},
		{Intensity{Window: -1}, ErrBadSpec},
		{Intensity{Window: math.MinInt64}, ErrBadSpec},
		{Intensity{Never: true, MaxRestarts: -1}, ErrBadSpec},
		{Intensity{Never: true, MaxRestarts: 1}, ErrConflictingOptions},
		{Intensity{Never: true, Window: 1}, ErrConflictingOptions},
		{Intensity{MaxRestarts: math.MaxInt, Window: math.MaxInt64}, nil},
		{Intensity{Window: 1}, nil},
	} {
		err := tc.in.Validate()
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.in, err, tc.want)
		}
		if w, err2 := NewWindow(tc.in); (err2 == nil) != (err == nil) || (err2 == nil) != (w != nil) {
			t.Errorf("%+v: NewWindow = %v, %v", tc.in, w, err2)
		}
	}
}

// TestReview28WindowExtremes: a 1ns window, a window of MaxInt64, huge
// gaps between restarts (centuries: offsets from the ring's base would
// overflow), and MaxRestarts of MaxInt. Defect found: Len and Allow
// subtracted each offset from now.Sub(base), which saturates centuries
// after base, so restarts 7000 years old still counted (Len 2, and the
// restart refused); the window now subtracts times.
func TestReview28WindowExtremes(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	w, _ := NewWindow(Intensity{MaxRestarts: 1, Window: 1})
	if !w.Allow(base) || w.Allow(base) || !w.Allow(base.Add(1)) {
		t.Fatal("1ns window: a restart 1ns later must count alone")
	}

	w, _ = NewWindow(Intensity{MaxRestarts: 2, Window: math.MaxInt64})
	far := time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, want := range []bool{true, true, false} { // within 292 years
		at := base.AddDate(100*i, 0, 0)
		if got := w.Allow(at); got != want {
			t.Fatalf("MaxInt64 window, restart %d at %v: %v", i, at, got)
		}
	}
	if n := w.Len(base.AddDate(250, 0, 0)); n != 3 {
		t.Fatalf("MaxInt64 window: Len %d, want 3", n)
	}
	if n := w.Len(far); n != 0 { // 7000 years later: the offset saturates
		t.Fatalf("MaxInt64 window: Len 7000 years later %d, want 0", n)
	}
	if !w.Allow(far) {
		t.Fatal("MaxInt64 window: a restart 7000 years later refused")
	}

	w, _ = NewWindow(Intensity{MaxRestarts: 1, Window: time.Minute})
	times := []time.Time{{}, far, far.Add(time.Second), far.Add(2 * time.Minute)}
	wants := []bool{true, true, false, true}
	for i, at := range times {
		if got := w.Allow(at); got != wants[i] {
			t.Fatalf("century gaps: restart %d at %v: %v, want %v", i, at, got, wants[i])
		}
	}

	w, _ = NewWindow(Intensity{MaxRestarts: math.MaxInt, Window: time.Hour})
	for i := range 10_000 {
		if !w.Allow(base.Add(time.Duration(i))) {
			t.Fatalf("MaxInt restarts refused #%d", i)
		}
	}
	if w.Len(base.Add(time.Minute)) != 10_000 || w.Len(base.Add(2*time.Hour)) != 0 {
		t.Fatal("Len with MaxInt restarts")
	}
}

// TestReview28WindowZeroAndNever: MaxRestarts 0 and Window 0 are the
// defaults (3 in 5s); Never refuses the first restart and records none.
func TestReview28WindowZeroAndNever(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var zero Window
	w, _ := NewWindow(Intensity{MaxRestarts: 0, Window: 0})
	for _, w := range []*Window{&zero, w} {
		got := []bool{w.Allow(base), w.Allow(base), w.Allow(base), w.Allow(base), w.Allow(base.Add(5 * time.Second))}
		if !slices.Equal(got, []bool{true, true, true, false, true}) {
			t.Fatalf("defaults: %v", got)
		}
	}
	never, _ := NewWindow(Intensity{Never: true})
	if never.Allow(base) || never.Len(base) != 0 || never.Intensity() != (Intensity{Never: true}) {
		t.Fatal("Never")
	}
}

// TestReview28DecideBadInput: every impossible input is refused with the
// documented sentinel, before anything else is looked at.
func TestReview28DecideBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      Strategy
		types  []RestartType
		exited int
		kind   ExitKind
		want   error
	}{
		{"strategy -1", -1, []RestartType{Permanent}, 0, Crash, ErrUnknownStrategy},
		{"strategy 3", 3, []RestartType{Permanent}, 0, Crash, ErrUnknownStrategy},
		{"type -1", OneForOne, []RestartType{Permanent, -1}, 0, Crash, ErrUnknownRestartType},
		{"type 3", OneForAll, []RestartType{3}, 0, Crash, ErrUnknownRestartType},
		{"no children", OneForOne, nil, 0, Crash, ErrBadInput},
		{"exited -1", RestForOne, []RestartType{Permanent}, -1, Crash, ErrBadInput},
		{"exited len", RestForOne, []RestartType{Permanent}, 1, Crash, ErrBadInput},
		{"exited MaxInt", RestForOne, []RestartType{Permanent}, math.MaxInt, Crash, ErrBadInput},
		{"exited MinInt", RestForOne, []RestartType{Permanent}, math.MinInt, Crash, ErrBadInput},
		{"kind 2", OneForOne, []RestartType{Permanent}, 0, 2, ErrBadInput},
		{"kind -1", OneForOne, []RestartType{Temporary}, 0, -1, ErrBadInput},
	} {
		p, err := Decide(tc.s, tc.types, tc.exited, tc.kind)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if p.Stop != nil || p.Restart != nil || p.Remove != nil || p.Counts {
			t.Errorf("%s: non-empty plan with an error: %+v", tc.name, p)
		}
	}
	for _, tc := range []struct {
		name   string
		s      Strategy
		group  []int
		failed int
		want   error
	}{
		{"strategy 9", 9, []int{0}, 0, ErrUnknownStrategy},
		{"empty group", OneForAll, nil, 0, ErrBadInput},
		{"duplicate", OneForAll, []int{1, 1}, 1, ErrBadInput},
		{"descending", RestForOne, []int{2, 1}, 1, ErrBadInput},
		{"negative", OneForOne, []int{-1, 0}, 0, ErrBadInput},
		{"absent", OneForAll, []int{0, 2}, 1, ErrBadInput},
		{"failed MinInt", OneForAll, []int{0}, math.MinInt, ErrBadInput},
	} {
		if _, err := RetryAfterFailedStart(tc.s, tc.group, tc.failed); !errors.Is(err, tc.want) {
			t.Errorf("retry %s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestReview28DecideLarge: a 100 000-child OneForAll plan is built in
// linear time and is well formed.
func TestReview28DecideLarge(t *testing.T) {
	const n = 100_000
	types := make([]RestartType, n)
	for i := range types {
		types[i] = RestartType(i % 3)
	}
	start := time.Now()
	p, err := Decide(OneForAll, types, n/2+1, Crash) // a Permanent child
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Stop) != n-1 || len(p.Restart)+len(p.Remove) != n || !p.Counts ||
		!slices.IsSorted(p.Restart) || !slices.IsSorted(p.Remove) || slices.Contains(p.Stop, n/2+1) {
		t.Fatalf("malformed plan: %d stop, %d restart, %d remove", len(p.Stop), len(p.Restart), len(p.Remove))
	}
	r, err := RetryAfterFailedStart(OneForAll, p.Restart, p.Restart[len(p.Restart)-1])
	if err != nil || len(r.Stop) != len(p.Restart)-1 || len(r.Restart) != len(p.Restart) {
		t.Fatalf("retry: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}

// TestReview28WindowOldBase: with a Window of MaxInt64 (292 years) the
// ring's base can be more than 292 years before a restart that is still
// held, so its offset from the base saturates. Defect found: the restart
// was stored as base+292y and aged out early (Len 0 instead of 1); push
// now moves the base to the oldest held restart when the offset saturates.
func TestReview28WindowOldBase(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	w, _ := NewWindow(Intensity{MaxRestarts: 10, Window: math.MaxInt64})
	for _, y := range []int{0, 200, 400} {
		if !w.Allow(base.AddDate(y, 0, 0)) {
			t.Fatalf("restart at +%dy refused", y)
		}
	}
	for _, c := range []struct{ y, want int }{{450, 2}, {590, 1}, {690, 1}, {700, 0}} {
		if got := w.Len(base.AddDate(c.y, 0, 0)); got != c.want {
			t.Errorf("Len at +%dy = %d, want %d", c.y, got, c.want)
		}
	}
}
