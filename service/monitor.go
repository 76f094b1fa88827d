package service

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/clock"
)

// Health monitoring and hang detection (Config.MonitoringInterval,
// Config.HeartbeatDeadline). Each is one task of the run, started after
// OnStart and the machinery, before the children; Stop joins it like any
// task. Both act only while the service is Running.

// startMonitors starts the monitoring tasks of run r that cfg asks for
// (Config.validate has refused negative values already).
func (b *Base) startMonitors(r *run, cfg *Config, self Service, hooks hookSet) error {
	if cfg.MonitoringInterval <= 0 && cfg.HeartbeatDeadline <= 0 {
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
		go runTasks(t)
	}
	if d := cfg.HeartbeatDeadline; d > 0 {
		x, err := r.extras()
		if err != nil {
			return err
		}
		hb := &heartbeat{clk: clk, epoch: clk.Now()}
		x.beat.Store(hb)
		t := &task{name: "monitor: heartbeat", kind: monitorTask, fn: func(ctx context.Context) error {
			return b.heartbeatLoop(ctx, hb, d)
		}}
		if err := r.addTask(t); err != nil {
			return err
		}
		go runTasks(t)
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

// heartbeat is the time of the last Heartbeat of a run, in nanoseconds
// since epoch on the run's clock.
type heartbeat struct {
	clk   clock.Clock
	epoch time.Time
	last  atomic.Int64
}

func (h *heartbeat) touch()              { h.last.Store(int64(h.clk.Since(h.epoch))) }
func (h *heartbeat) idle() time.Duration { return h.clk.Since(h.epoch) - time.Duration(h.last.Load()) }

// Heartbeat tells hang detection (Config.HeartbeatDeadline) that the
// service's code is making progress. Without a deadline, or outside a run,
// it does nothing. It is cheap (a clock read and an atomic store) and safe
// for concurrent use: call it from the loop that must not freeze.
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

// heartbeatLoop crashes the service with ErrHung when no Heartbeat came
// within d while it was Running. Until it is Running the deadline keeps
// starting over. It returns nil when the run ends.
func (b *Base) heartbeatLoop(ctx context.Context, hb *heartbeat, d time.Duration) error {
	tm := hb.clk.NewTimer(d)
	defer tm.Stop()
	for tick(ctx, tm) {
		if b.State() != Running {
			hb.touch()
		}
		idle := hb.idle()
		if idle >= d {
			doing := b.Diag().String()
			if doing == "" {
				doing = "(no diag flag set)"
			}
			return fmt.Errorf("%w: no heartbeat for %v while: %s", ErrHung, idle, doing)
		}
		tm.Reset(d - idle)
	}
	return nil
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
