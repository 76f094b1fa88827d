package strategy

import (
	"math"
	"time"
)

// BackoffState computes successive restart delays for one supervisor under
// a Backoff. The zero BackoffState is disabled: Next returns 0. It is not
// safe for concurrent use.
type BackoffState struct {
	cfg     Backoff   // normalized
	k       int       // delays returned since the last reset
	atCap   bool      // Min·Factor^k has reached Max; Pow is no longer needed
	last    time.Time // when the last delayed restart was due: its now + delay
	started bool      // last is set
}

// NewBackoffState returns the state for b (normalized), or b.Validate()'s
// error. A disabled b gives a state whose Next returns 0.
func NewBackoffState(b Backoff) (*BackoffState, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return &BackoffState{cfg: b.Normalize()}, nil
}

// Backoff returns the normalized configuration.
func (s *BackoffState) Backoff() Backoff { return s.cfg }

// Attempt returns the number of delays Next has returned since the last
// reset, explicit or after a quiet period.
func (s *BackoffState) Attempt() int { return s.k }

// Next returns the delay before the restart being decided at now, and
// records that restart as happening at now plus that delay.
//
// If the previous restart happened at least ResetAfter before now, the
// count starts again first. The base delay is Min·Factor^k for the k-th
// consecutive restart, capped at Max; jitter then scales it by
// 1 + Jitter·(2·rnd − 1), so rnd 0.5 gives no jitter, and the result is
// clamped to [0, Max]. rnd is a uniform draw in [0,1); values outside are
// clamped. A disabled state returns 0.
func (s *BackoffState) Next(now time.Time, rnd float64) time.Duration {
	if !s.cfg.Enabled() {
		return 0
	}
	if s.started && now.Sub(s.last) >= s.cfg.ResetAfter {
		s.k, s.atCap = 0, false
	}
	base := float64(s.cfg.Max)
	if !s.atCap {
		if b := float64(s.cfg.Min) * math.Pow(s.cfg.Factor, float64(s.k)); b < base {
			base = b
		} else {
			s.atCap = true
		}
	}
	s.k++
	if math.IsNaN(rnd) {
		rnd = 0.5
	}
	rnd = min(max(rnd, 0), 1)
	d := base * (1 + s.cfg.Jitter*(2*rnd-1))
	delay := s.cfg.Max
	if d < float64(s.cfg.Max) {
		delay = time.Duration(max(d, 0))
	}
	s.last, s.started = now.Add(delay), true
	return delay
}

// Reset starts the count again: the next delay is Min (with jitter).
func (s *BackoffState) Reset() {
	s.k, s.atCap, s.started = 0, false, false
	s.last = time.Time{}
}
