package strategy

import (
	"fmt"
	"math"
	"time"
)

// Defaults applied by Backoff.Normalize to the zero fields of an enabled
// Backoff.
const (
	// DefaultBackoffMin is the first delay when Min is zero (lowered to Max
	// if Max is smaller).
	DefaultBackoffMin = 100 * time.Millisecond
	// DefaultBackoffMax is the delay cap when Max is zero (raised to Min if
	// Min is larger).
	DefaultBackoffMax = 10 * time.Second
	// DefaultBackoffFactor is the growth factor when Factor is zero.
	DefaultBackoffFactor = 2.0
	// DefaultBackoffJitter is the jitter fraction when Jitter is zero and
	// NoJitter is false.
	DefaultBackoffJitter = 0.2
	// DefaultBackoffResetFactor times Max is the quiet period when
	// ResetAfter is zero.
	DefaultBackoffResetFactor = 10
)

// Backoff delays restarts exponentially, as Akka's restartWithBackoff: the
// k-th consecutive restart waits Min·Factor^k, capped at Max, with a random
// ±Jitter fraction, and the count k starts again after a child has stayed
// up for ResetAfter.
//
// The zero Backoff is disabled (restarts are immediate); any non-zero field
// enables it, and the other zero fields take the defaults: Min
// DefaultBackoffMin, Max DefaultBackoffMax, Factor 2, Jitter 0.2, ResetAfter
// 10×Max. Since a zero Jitter means the default, jitter is turned off with
// the explicit NoJitter flag. Backoff delays restarts; it does not suspend
// the intensity limit.
type Backoff struct {
	// Min is the delay before the first restart of a run of restarts.
	Min time.Duration
	// Max caps every delay, jitter included.
	Max time.Duration
	// Factor multiplies the delay at each consecutive restart; it must be
	// at least 1.
	Factor float64
	// Jitter is the fraction, in [0,1], by which a delay is randomly moved
	// up or down.
	Jitter float64
	// ResetAfter is the quiet period: when a child ran that long since its
	// last restart, the next delay is Min again.
	ResetAfter time.Duration
	// NoJitter turns jitter off. It conflicts with a non-zero Jitter.
	NoJitter bool
}

// Enabled reports whether b delays restarts, that is whether it is not the
// zero Backoff.
func (b Backoff) Enabled() bool {
	return b != Backoff{}
}

// Validate returns nil for a usable Backoff; an error wrapping ErrBadSpec
// for a negative duration, Min > Max (both set), a Factor below 1 (other
// than zero), a Jitter outside [0,1], or a NaN or infinite number; and one
// wrapping ErrConflictingOptions for NoJitter with a non-zero Jitter.
func (b Backoff) Validate() error {
	switch {
	case b.Min < 0 || b.Max < 0 || b.ResetAfter < 0:
		return fmt.Errorf("%w: negative backoff duration (Min %v, Max %v, ResetAfter %v)", ErrBadSpec, b.Min, b.Max, b.ResetAfter)
	case b.Max != 0 && b.Min > b.Max:
		return fmt.Errorf("%w: backoff Min %v > Max %v", ErrBadSpec, b.Min, b.Max)
	case math.IsNaN(b.Factor) || math.IsInf(b.Factor, 0) || (b.Factor != 0 && b.Factor < 1):
		return fmt.Errorf("%w: backoff Factor %v, want ≥ 1", ErrBadSpec, b.Factor)
	case math.IsNaN(b.Jitter) || b.Jitter < 0 || b.Jitter > 1:
		return fmt.Errorf("%w: backoff Jitter %v, want within [0,1]", ErrBadSpec, b.Jitter)
	case b.NoJitter && b.Jitter != 0:
		return fmt.Errorf("%w: backoff NoJitter with Jitter %v", ErrConflictingOptions, b.Jitter)
	}
	return nil
}

// Normalize returns b with the defaults applied to its zero fields, or the
// zero Backoff if b is disabled. Normalize does not validate; call Validate
// first.
func (b Backoff) Normalize() Backoff {
	if !b.Enabled() {
		return b
	}
	if b.Min == 0 {
		b.Min = DefaultBackoffMin
		if b.Max != 0 && b.Max < b.Min {
			b.Min = b.Max
		}
	}
	if b.Max == 0 {
		b.Max = max(DefaultBackoffMax, b.Min)
	}
	if b.Factor == 0 {
		b.Factor = DefaultBackoffFactor
	}
	if b.Jitter == 0 && !b.NoJitter {
		b.Jitter = DefaultBackoffJitter
	}
	if b.ResetAfter == 0 {
		b.ResetAfter = b.Max * DefaultBackoffResetFactor
		if b.ResetAfter/DefaultBackoffResetFactor != b.Max {
			b.ResetAfter = math.MaxInt64 // overflow: never reset
		}
	}
	return b
}
