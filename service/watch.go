package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/logline"
)

// Watchdog is the hang detection of one task, made by Watch. Its methods
// are safe for concurrent use and do nothing on a nil *Watchdog.
type Watchdog struct {
	hb      *heartbeat
	name    string
	b       *Base
	stopped chan struct{}
	once    atomic.Bool
}

// Watch declares hang detection for the task that calls it, with ctx the
// task's context (that of a Go task, a Func's function, a timer's
// function, a hook: it names the service and the run). From then on,
// while the service is Running, the task must call Beat at least once per
// deadline, or the service crashes with ErrHung naming the task (name)
// and the service's diag flags: "task \"consume\": no heartbeat for 30s
// while: committing". Unlike the service-wide Heartbeat
// (Config.HeartbeatDeadline), a healthy timer or another task cannot hide
// a hung task: each watchdog waits only for its own beats.
//
// A wait that is no hang (a consumer blocked on an empty queue) is
// declared with Idle: the deadline does not run from Idle until the next
// Beat. Before the service is Running, the deadline keeps starting
// over, and it starts over when the service becomes Running.
//
// The watchdog ends with the run, or earlier with Stop: call Stop when the
// task returns (defer w.Stop()), else a task that ended looks hung. Each
// watchdog holds one goroutine, owned by the run and joined by Stop like
// any task (its pprof task label is "watch: <name>"); a service that
// calls no Watch pays nothing.
//
//	func (c *Consumer) consume(ctx context.Context) error {
//		w, err := service.Watch(ctx, "consume", 30*time.Second)
//		if err != nil {
//			return err
//		}
//		defer w.Stop()
//		for {
//			w.Idle() // an empty queue is not a hang
//			msg, err := c.queue.Pop(ctx)
//			if err != nil {
//				return err
//			}
//			w.Beat() // working: 30s from now to beat again
//			if err := c.handle(ctx, msg); err != nil {
//				return err
//			}
//		}
//	}
//
// Watch returns ErrBadArgument for an empty name or a deadline ≤ 0,
// ErrNotStarted when ctx is not the context of a service's task or hook,
// and ErrStopping once that run is stopping or has crashed; no watchdog
// is started then (a nil *Watchdog, whose methods do nothing).
func Watch(ctx context.Context, name string, deadline time.Duration) (*Watchdog, error) {
	switch {
	case name == "":
		return nil, errorf(ErrBadArgument, "Watch: empty name")
	case deadline <= 0:
		return nil, errorf(ErrBadArgument, "Watch(%q): deadline %v is not positive", name, deadline)
	}
	r := markedBy(ctx)
	if r == nil || r.ctx == nil {
		return nil, fmt.Errorf("Watch(%q): %w: ctx is no service's task context", name, ErrNotStarted)
	}
	b := r.b
	fail := func(err error) (*Watchdog, error) {
		return nil, fmt.Errorf("%s: Watch(%q): %w", b.Label(), name, err)
	}
	if r.ctx.Err() != nil {
		return fail(ErrStopping)
	}
	x, err := r.extras()
	if err != nil {
		return fail(err)
	}
	w := &Watchdog{hb: newHeartbeat(b.clock(), deadline), name: name, b: b, stopped: make(chan struct{})}
	t := &task{name: "watch: " + name, kind: monitorTask, fn: func(ctx context.Context) error {
		defer x.unwatch(w)
		return b.watchLoop(ctx, w.hb, name, w.stopped)
	}}
	x.mu.Lock()
	x.watches = append(x.watches, w)
	x.mu.Unlock()
	if err := r.addTask(t); err != nil {
		x.unwatch(w)
		return fail(err)
	}
	launch(t)
	return w, nil
}

// unwatch takes w out of the live watchdogs.
func (x *runExtras) unwatch(w *Watchdog) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if i := slices.Index(x.watches, w); i >= 0 {
		x.watches = slices.Delete(x.watches, i, i+1)
	}
}

// startOver starts the deadline of the run's heartbeat and watchdogs
// over, as the service becomes Running: a task watched during a long
// start has a whole deadline once Running. An idle watchdog stays idle.
func (x *runExtras) startOver() {
	if hb := x.beat.Load(); hb != nil {
		hb.restart()
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, w := range x.watches {
		w.hb.restart()
	}
}

// Beat tells the watchdog that its task is making progress, and ends an
// Idle: the deadline runs from now. It is cheap (a clock read and an
// atomic store); a beat after the crash or after Stop does nothing.
func (w *Watchdog) Beat() {
	if w != nil {
		w.hb.touch()
	}
}

// Idle tells the watchdog that its task waits for work (an empty queue):
// no hang until the next Beat, however long the wait. Call Beat as soon
// as the work comes.
func (w *Watchdog) Idle() {
	if w != nil {
		w.hb.last.Store(idleMark)
	}
}

// Stop ends the watchdog: its task is no longer watched (it returns, or a
// long phase begins that is watched otherwise). Idempotent.
func (w *Watchdog) Stop() {
	if w != nil && w.once.CompareAndSwap(false, true) {
		close(w.stopped)
	}
}

// Name returns the name given to Watch.
func (w *Watchdog) Name() string {
	if w == nil {
		return ""
	}
	return w.name
}

// watchLines are Dump's lines for the current run's heartbeat deadline and
// watchdogs (by name).
func (b *Base) watchLines() []string {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	x := extrasFor(r)
	if x == nil {
		return nil
	}
	var out []string
	if hb := x.beat.Load(); hb != nil {
		out = append(out, "heartbeat: "+beatText(hb))
	}
	x.mu.Lock()
	ws := slices.Clone(x.watches)
	x.mu.Unlock()
	slices.SortStableFunc(ws, func(a, b *Watchdog) int { return strings.Compare(a.name, b.name) })
	for _, w := range ws {
		out = append(out, fmt.Sprintf("watch %q: %s", w.name, beatText(w.hb)))
	}
	return out
}

// beatText says when hb last beat, against its deadline.
func beatText(hb *heartbeat) string {
	idle, beating := hb.since()
	if !beating {
		return fmt.Sprintf("idle (deadline %v)", logline.Short(hb.d))
	}
	return fmt.Sprintf("last beat %v ago (deadline %v)", logline.Short(idle), logline.Short(hb.d))
}
