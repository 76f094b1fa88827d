package observe

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestReview13ClockStopDuringTick stops the clock at every point of a
// tick (before it fires, as it fires, while readers read and race it to
// restart the timer) in synctest bubbles: stop returns with no tick
// running or set (the bubble would not end otherwise), reads after it
// read the clock and never start the timer again, and no moment read
// goes back.
func TestReview13ClockStopDuringTick(t *testing.T) {
	for _, at := range []time.Duration{0, time.Millisecond, tick - 1, tick, tick + 1, 2 * tick, 3*tick + tick/2} {
		t.Run(at.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := &coarseClock{base: time.Now()}
				var wg sync.WaitGroup
				done := make(chan struct{})
				for range 3 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var last moment
						for {
							m := c.read()
							if m < last {
								t.Errorf("moment went back: %v after %v", time.Duration(m), time.Duration(last))
							}
							last = m
							select {
							case <-done:
								return
							case <-time.After(tick / 3):
							}
						}
					}()
				}
				time.Sleep(at)
				c.stop()
				if c.running.Load() {
					t.Error("running after stop")
				}
				time.Sleep(5 * tick) // reads after stop
				close(done)
				wg.Wait()
				if c.running.Load() {
					t.Error("a read after stop started the timer")
				}
				before := moment(time.Since(c.base))
				if m := c.read(); m != before {
					t.Errorf("read after stop: %v, want the clock's %v", time.Duration(m), time.Duration(before))
				}
			})
		})
	}
}
