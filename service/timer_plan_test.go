package service

import (
	"math/rand"
	"testing"
	"time"
)

// TestEveryPlanProperty drives the fixed-rate slot functions as the timer
// loop does, with random intervals, wake delays and run times (fixed seeds):
// no slot is ever served twice, a served slot is never later than the wake
// nor behind it by a whole interval, and every slot is either served or
// counted as skipped.
func TestEveryPlanProperty(t *testing.T) {
	for seed := int64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		iv := time.Duration(1 + rng.Int63n(int64(10*time.Second)))
		anchor := time.Unix(0, rng.Int63n(1<<62)).UTC()
		p := &everyPlan{anchor: anchor, iv: iv}
		// Delays: mostly small, sometimes several intervals (stalls).
		delay := func() time.Duration {
			switch rng.Intn(4) {
			case 0:
				return 0
			case 1:
				return time.Duration(rng.Int63n(int64(iv)))
			case 2:
				return time.Duration(rng.Int63n(int64(iv)/10*3 + 1))
			default:
				return time.Duration(rng.Int63n(int64(iv) * 12))
			}
		}
		last, now := p.start(), p.start()
		var served, skipped int64
		for range 500 {
			due := p.next(last)
			if !due.After(last) || due.Sub(last) > iv {
				t.Fatalf("seed %d: next(%v) = %v", seed, last, due)
			}
			wake := due
			if now.After(wake) {
				wake = now // the run overran: the loop does not sleep
			}
			wake = wake.Add(delay())
			slot, skip := p.catchUp(due, wake)
			switch {
			case !slot.After(last):
				t.Fatalf("seed %d: slot %v served twice (last %v)", seed, slot, last)
			case slot.After(wake):
				t.Fatalf("seed %d: slot %v served early at %v", seed, slot, wake)
			case wake.Sub(slot) >= iv:
				t.Fatalf("seed %d: woke at %v, served %v: behind by ≥ %v", seed, wake, slot, iv)
			case slot.Sub(anchor)%iv != 0:
				t.Fatalf("seed %d: %v is off the grid", seed, slot)
			}
			served++
			skipped += skip
			if want := int64(slot.Sub(anchor) / iv); served+skipped != want {
				t.Fatalf("seed %d: %d served + %d skipped, want %d slots", seed, served, skipped, want)
			}
			last, now = slot, wake.Add(delay()) // fn runs for a random time
		}
	}
}

func TestEveryPlanMaxDrift(t *testing.T) {
	for _, c := range []struct{ iv, want time.Duration }{
		{time.Second, 300 * time.Millisecond},
		{4 * time.Second, 1200 * time.Millisecond},
		{time.Hour, 1200 * time.Millisecond},
		{10 * time.Millisecond, 3 * time.Millisecond},
	} {
		if got := (&everyPlan{iv: c.iv}).maxDrift(); got != c.want {
			t.Errorf("maxDrift(%v) = %v, want %v", c.iv, got, c.want)
		}
	}
}
