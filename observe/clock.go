package observe

import (
	"sync"
	"sync/atomic"
	"time"
)

// tick is how often the handler's clock is read while it records crashes
// and events: the time of each is at most tick early.
const tick = 10 * time.Millisecond

// moment is when the handler recorded a crash or an event: the monotonic
// time since the handler attached (coarseClock.base).
type moment time.Duration

// time returns m as a wall time, base being the handler's attach time.
func (m moment) time(base time.Time) time.Time {
	return base.Add(time.Duration(m))
}

// coarseClock gives the moment of each crash and event the handler
// records, without a clock read on the engine's goroutines, which record
// them: a timer reads the clock every tick while records come, and stops
// after a tick without any. A record that comes while the timer is
// stopped reads the clock itself and starts it. Under a crash storm,
// the engine pays an atomic load per record instead of a clock read (a
// restart records three: a crash and two events).
//
// Its zero value, with base set, is ready. stop stops it for good and
// waits for a tick under way.
type coarseClock struct {
	base    time.Time
	now     atomic.Int64 // the moment of the last reading
	running atomic.Bool  // the timer is set: now is at most tick old
	used    atomic.Bool  // read since the last tick

	mu      sync.Mutex // guards t and stopped, and orders the timer's starts
	t       *time.Timer
	stopped bool
	ticks   sync.WaitGroup // the timer's function, set to run or running
}

// read returns the moment now, give or take a tick.
func (c *coarseClock) read() moment {
	if !c.used.Load() { // a load first: in a storm, no goroutine writes the line
		c.used.Store(true)
	}
	if c.running.Load() {
		return moment(c.now.Load())
	}
	return c.start()
}

// start reads the clock, and sets the timer unless it is set or stopped.
func (c *coarseClock) start() moment {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.store()
	if !c.stopped && !c.running.Load() {
		c.ticks.Add(1)
		if c.t == nil {
			c.t = time.AfterFunc(tick, c.tick)
		} else {
			c.t.Reset(tick)
		}
		c.running.Store(true)
	}
	return m
}

// tick reads the clock, and sets the timer again if the moment was read
// since the last tick; else it leaves it stopped, and the next read
// starts it.
func (c *coarseClock) tick() {
	defer c.ticks.Done()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store()
	if c.stopped || !c.used.Swap(false) {
		c.running.Store(false)
		return
	}
	c.ticks.Add(1)
	c.t.Reset(tick)
}

// store reads the clock into now and returns it. c.mu is held, so the
// moments stored never go back.
func (c *coarseClock) store() moment {
	m := moment(time.Since(c.base))
	c.now.Store(int64(m))
	return m
}

// stop stops the timer for good and waits for its function if it runs.
// Later reads read the clock themselves.
func (c *coarseClock) stop() {
	c.mu.Lock()
	c.stopped = true
	if c.t != nil && c.t.Stop() {
		c.ticks.Done() // it will not run
	}
	c.running.Store(false)
	c.mu.Unlock()
	c.ticks.Wait()
}
