package observe

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestCoarseClock walks the handler's clock through its states in a
// synctest bubble (time moves only when every goroutine waits): a first
// read starts the timer, reads while it runs return the last tick's
// moment (at most a tick old), a tick without reads stops it, a read
// after that reads the clock again, and stop stops it for good.
func TestCoarseClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &coarseClock{base: time.Now()}
		at := func() moment { return moment(time.Since(c.base)) }
		steps := []struct {
			name    string
			advance time.Duration // before the read
			want    func() moment
			running bool // after the read
		}{
			{"first read: reads the clock, starts the timer", 3 * time.Millisecond, at, true},
			{"within the tick: the moment read", 4 * time.Millisecond, func() moment { return 3 * moment(time.Millisecond) }, true},
			{"after a tick: the tick's moment", 7 * time.Millisecond, func() moment { return 13 * moment(time.Millisecond) }, true},
			{"after two ticks, one read between: the last tick's", 11 * time.Millisecond, func() moment { return 23 * moment(time.Millisecond) }, true},
			{"after ticks without reads: stopped, reads the clock", 50 * time.Millisecond, at, true},
		}
		for _, s := range steps {
			time.Sleep(s.advance)
			synctest.Wait() // the ticks due have run
			if got, want := c.read(), s.want(); got != want {
				t.Errorf("%s: read %v, want %v", s.name, time.Duration(got), time.Duration(want))
			}
			if c.running.Load() != s.running {
				t.Errorf("%s: running %v, want %v", s.name, c.running.Load(), s.running)
			}
		}
		time.Sleep(30 * time.Millisecond)
		synctest.Wait()
		if c.running.Load() {
			t.Error("the timer runs on without reads")
		}
		c.read()
		c.stop()
		if c.running.Load() {
			t.Error("running after stop")
		}
		time.Sleep(time.Millisecond)
		if got, want := c.read(), at(); got != want {
			t.Errorf("read after stop: %v, want the clock's %v", time.Duration(got), time.Duration(want))
		}
		if c.running.Load() {
			t.Error("a read after stop started the timer")
		}
		c.stop() // twice: no effect
	})
}

// TestCoarseClockConcurrent reads the clock from several goroutines for
// a few ticks, while it ticks and while it is stopped half way (run it
// with -race): each goroutine's moments never go back, and stop returns
// with no tick left running (goleak).
func TestCoarseClockConcurrent(t *testing.T) {
	c := &coarseClock{base: time.Now()}
	var wg sync.WaitGroup
	var stopOnce sync.Once
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last moment
			for last < 5*moment(tick) {
				m := c.read()
				if m < last {
					t.Errorf("moment went back: %v after %v", time.Duration(m), time.Duration(last))
					return
				}
				if m >= 3*moment(tick) {
					stopOnce.Do(c.stop)
				}
				last = m
			}
		}()
	}
	wg.Wait()
	c.stop()
}
