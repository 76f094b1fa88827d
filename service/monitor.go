package service

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/logline"
)

// Health monitoring and hang detection (Config.MonitoringInterval,
// Config.HeartbeatDeadline). Each is one task of the run, started after
// OnStart and the machinery, before the children; Stop joins it like any
// task. Both act only while the service is Running.

// monitored reports whether a run under cfg has a monitor: a
// healthcheck or heartbeat loop.
func (c *Config) monitored() bool { return c.MonitoringInterval > 0 || c.HeartbeatDeadline > 0 }

// startMonitors starts the monitoring tasks of run r that cfg asks for
// (Config.validate has refused negative values already).
func (b *Base) startMonitors(r *run, cfg *Config, self Service, hooks hookSet) error {
	if !cfg.monitored() {
		return nil
	}
	clk := clock.Or(cfg.Clock)
	// The default healthcheck is "running": it passes whenever the loop
	// would call it, so no task is needed without a hook.
	if hooks&hasHealthcheck != 0 && cfg.MonitoringInterval > 0 {
		hc, iv := self.(Healthchecker), cfg.MonitoringInterval
		t := &task{name: "monitor: healthcheck", kind: monitorTask, fn: func(ctx context.Context) error {
			return b.monitorLoop(ctx, clk, iv, hc)
		}}
		if err := r.addTask(t); err != nil {
			return err
		}
		launch(t)
	}
	if d := cfg.HeartbeatDeadline; d > 0 {
		x, err := r.extras()
		if err != nil {
			return err
		}
		hb := newHeartbeat(clk, d)
		x.beat.Store(hb)
		t := &task{name: "monitor: heartbeat", kind: monitorTask, fn: func(ctx context.Context) error {
			return b.watchLoop(ctx, hb, "", nil)
		}}
		if err := r.addTask(t); err != nil {
			return err
		}
		launch(t)
	}
	return nil
}

// monitorLoop calls the healthcheck every iv while the service is Running.
// It returns the crash reason (ErrUnhealthy wrapping the healthcheck's
// error), or nil when the run ends.
func (b *Base) monitorLoop(ctx context.Context, clk clock.Clock, iv time.Duration, hc Healthchecker) error {
	tm := clk.NewTimer(iv)
	defer tm.Stop()
	for tick(ctx, tm) {
		tm.Reset(iv) // fixed rate: the next check is due one interval after this one
		if b.State() == Running {
			cctx, cancel := withClockTimeout(ctx, clk, iv)
			err := b.callHook(cctx, hc.Healthcheck)
			cancel()
			if ctx.Err() != nil {
				return nil // stopped or crashed meanwhile: not this check's failure
			}
			if err != nil {
				return fmt.Errorf("%w: %w", ErrUnhealthy, err)
			}
		}
	}
	return nil
}

// tick waits for tm to fire or ctx to end; it reports whether the run goes
// on.
func tick(ctx context.Context, tm clock.Timer) bool {
	select {
	case <-tm.C():
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// heartbeat is the time of the last beat (Heartbeat, or a Watchdog's
// Beat) of a run, in nanoseconds since epoch on the run's clock, or
// idleMark while a Watchdog is idle.
type heartbeat struct {
	clk   clock.Clock
	epoch time.Time
	d     time.Duration // the deadline
	last  atomic.Int64
}

// idleMark is heartbeat.last while a Watchdog is idle (Watchdog.Idle).
const idleMark = math.MinInt64

func newHeartbeat(clk clock.Clock, d time.Duration) *heartbeat {
	return &heartbeat{clk: clk, epoch: clk.Now(), d: d}
}

func (h *heartbeat) touch() { h.last.Store(int64(h.clk.Since(h.epoch))) }

// restart makes now the last beat, unless h is idle.
func (h *heartbeat) restart() {
	if last := h.last.Load(); last != idleMark {
		h.last.CompareAndSwap(last, int64(h.clk.Since(h.epoch)))
	}
}

// since returns the time since the last beat, and false while idle.
func (h *heartbeat) since() (time.Duration, bool) {
	last := h.last.Load()
	if last == idleMark {
		return 0, false
	}
	return h.clk.Since(h.epoch) - time.Duration(last), true
}

// Heartbeat tells hang detection (Config.HeartbeatDeadline) that the
// service's code is making progress. Without a deadline, or outside a run,
// it does nothing. It is cheap (a clock read and an atomic store) and safe
// for concurrent use: call it from the loop that must not freeze. Any code
// of the service that calls it keeps the whole service alive: to watch
// one task (a main loop among healthy timers), see Watch.
func (b *Base) Heartbeat() {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if x := extrasFor(r); x != nil {
		if hb := x.beat.Load(); hb != nil {
			hb.touch()
		}
	}
}

// watchLoop crashes the service with ErrHung when no beat came within
// hb.d while it was Running and hb was not idle; task names the watched
// task ("" for the service's Heartbeat). Until the service is Running the
// deadline keeps starting over. It returns nil when the run ends or
// stopped is closed.
func (b *Base) watchLoop(ctx context.Context, hb *heartbeat, task string, stopped <-chan struct{}) error {
	tm := hb.clk.NewTimer(hb.d)
	defer tm.Stop()
	for {
		select {
		case <-tm.C():
		case <-ctx.Done():
			return nil
		case <-stopped:
			return nil
		}
		if ctx.Err() != nil {
			return nil
		}
		if b.State() != Running {
			hb.restart()
		}
		idle, beating := hb.since()
		if !beating {
			tm.Reset(hb.d)
			continue
		}
		if idle >= hb.d {
			doing := b.Diag().String()
			if doing == "" {
				doing = "(no diag flag set)"
			}
			if task == "" {
				return fmt.Errorf("%w: no heartbeat for %v while: %s", ErrHung, logline.Short(idle), doing)
			}
			return fmt.Errorf("%w: task %q: no heartbeat for %v while: %s", ErrHung, task, logline.Short(idle), doing)
		}
		tm.Reset(hb.d - idle)
	}
}

// withClockTimeout is context.WithTimeout on clk: the real clock uses the
// context package's timer; another clock (a test's fake) expires the
// context through its own AfterFunc, and Deadline reports its time.
func withClockTimeout(parent context.Context, clk clock.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if clk == clock.Real() {
		return context.WithTimeout(parent, d)
	}
	inner, cancel := context.WithCancel(parent)
	c := &clockCtx{Context: inner, deadline: clk.Now().Add(d)}
	fired := make(chan struct{})
	tm := clk.AfterFunc(d, func() {
		c.expired.Store(true)
		cancel()
		close(fired)
	})
	return c, func() {
		if !tm.Stop() {
			<-fired // the callback has started: let it finish
		}
		cancel()
	}
}

// clockCtx is a context whose deadline is kept by a Clock.
type clockCtx struct {
	context.Context
	deadline time.Time
	expired  atomic.Bool
}

func (c *clockCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *clockCtx) Err() error {
	err := c.Context.Err()
	if err != nil && c.expired.Load() {
		return context.DeadlineExceeded
	}
	return err
}
