package observe

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/gomode/mode"
	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// statusDelay is how long a STATUS= update waits after a change of the
// tree, so that it shows the tree settled (a crash with its restart) and
// a crash storm sends one a second, not one a crash.
const statusDelay = time.Second

// Systemd is a mode.Extension (add it to Worker.Extensions) that tells
// systemd how the Worker's tree is doing, with the sd_notify protocol, for
// a unit of Type=notify (see examples/systemd):
//
//   - READY=1 once the tree has started (StepRunning), with a STATUS=
//     line counting the services running and the restarts so far;
//   - STATUS= again when the tree changes (a crash, a restart: at most
//     one update a second) and at each watchdog ping, for "systemctl
//     status";
//   - WATCHDOG=1 every half of WATCHDOG_USEC (the unit's WatchdogSec=),
//     from READY=1 until the stop begins, but only while Healthy passes:
//     a hung tree stops pinging and systemd kills and restarts the
//     process (systemd starts its watchdog when the start-up completes,
//     at READY=1; TimeoutStartSec= bounds the start);
//   - STOPPING=1 when the stop begins (StepStopping), after which no
//     WATCHDOG=1 is sent: systemd turns its watchdog off then, and
//     TimeoutStopSec= bounds the stop.
//
// Outside systemd (no NOTIFY_SOCKET in the environment when the run
// begins) it does nothing, at the cost of one environment lookup per run:
// no goroutine, no observer, no allocation.
//
// Under systemd it attaches a service.Observer to the tree (cheap: a
// non-blocking send per state change, a counter per restart) and runs one
// goroutine from StepRunning to StepStopped, where it is ended and joined.
//
// The environment is left as it is (as go-systemd's SdNotify does with
// unsetEnvironment false): NOTIFY_SOCKET is read at each notification, so
// unsetting it would silence every one after the first; child processes therefore
// inherit NOTIFY_SOCKET, and the unit's NotifyAccess=main makes systemd
// ignore what they send.
//
// The restarts counted are those made by the tree's supervisors since the
// run began (supervisor.ChildRestarted events).
//
// Its zero value is ready; set Healthy before the run. A Systemd serves
// one Worker run at a time; it may serve another once that run is over.
type Systemd struct {
	// Healthy decides, before each watchdog ping, whether the tree is
	// healthy: the ping is sent only when it returns nil. ctx is bounded
	// by a quarter of WATCHDOG_USEC, so that a check that passes leaves
	// time to ping; a check that does not return within it must return
	// an error (ctx's), and one that ignores ctx stops the pings, as a
	// hang should. A panic counts as an error. Default: the liveness of
	// /healthz (Healthy: the tree has not crashed to its root and runs no
	// abandoned code) and, while the root is Running, the root's
	// Healthcheck (service.CheckHealth), so a hung Healthcheck stops the
	// pings. A child restarting or waiting out a backoff is live: the
	// watchdog does not kill a process that is recovering.
	Healthy func(ctx context.Context, root service.Service) error

	mu  sync.Mutex
	run *sdRun // the run under way, nil outside systemd
}

var _ mode.Extension = (*Systemd)(nil)

// WorkerPhase implements mode.Extension. Under systemd (NOTIFY_SOCKET set
// when StepStarting comes) it sends the notifications listed on Systemd
// and runs the watchdog loop; otherwise it does nothing and returns nil.
//
// It returns, at StepStarting: ErrSystemdInUse when another Worker's run
// is using s, the error of service.Observe, or an error of go-systemd
// for a WATCHDOG_USEC or WATCHDOG_PID it cannot parse (these fail the
// run). At StepRunning and StepStopping: the error of a notification
// that could not be sent, or not within a second (a socket nobody reads:
// the Worker logs it and goes on). At
// StepStopped: an error wrapping service.ErrStopTimeout when ctx ended
// before the watchdog loop did (a Healthy that ignores its ctx), the loop
// being left to end on its own.
func (s *Systemd) WorkerPhase(ctx context.Context, p mode.Phase) error {
	if p.Step == mode.StepStarting {
		if os.Getenv("NOTIFY_SOCKET") == "" {
			return nil
		}
		return s.starting(p)
	}
	s.mu.Lock()
	r := s.run
	if r != nil && r.root != p.Root {
		r = nil // another Worker's step (its StepStarting found s in use)
	}
	if r != nil && p.Step == mode.StepStopped {
		s.run = nil
	}
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	switch p.Step {
	case mode.StepRunning:
		return r.running(s.healthy())
	case mode.StepStopping:
		return r.stop()
	case mode.StepStopped:
		return r.stopped(ctx)
	}
	return nil
}

// healthy is Healthy or its default.
func (s *Systemd) healthy() func(context.Context, service.Service) error {
	if s.Healthy != nil {
		return s.Healthy
	}
	return watchdogHealthy
}

// watchdogHealthy is Healthy's default: the tree is live (Healthy, as
// /healthz) and, while the root is Running, the root's Healthcheck passes.
func watchdogHealthy(ctx context.Context, root service.Service) error {
	if err := Healthy(ctx, root); err != nil {
		return err
	}
	if root.State() != service.Running {
		return nil // restarting: live, and nothing to ask
	}
	return service.CheckHealth(ctx, root)
}

// starting prepares a run: reads the watchdog's period and attaches the
// observer.
func (s *Systemd) starting(p mode.Phase) error {
	wd, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		return fmt.Errorf("observe: systemd watchdog: %w", err)
	}
	log := p.Log
	if log == nil {
		nop := zerolog.Nop()
		log = &nop
	}
	r := &sdRun{root: p.Root, log: log, period: wd / 2, nudge: make(chan struct{}, 1)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil {
		return ErrSystemdInUse
	}
	if r.detach, err = service.Observe(p.Root, r); err != nil {
		return err
	}
	s.run = r
	return nil
}

// sdRun is one Worker run under systemd. It is the tree's observer.
type sdRun struct {
	root   service.Service
	log    *zerolog.Logger
	period time.Duration // between watchdog pings; 0: no watchdog
	detach func()
	nudge  chan struct{} // buffered: the tree changed

	cancel context.CancelFunc // ends the loop
	done   chan struct{}      // closed when the loop has returned

	// What the observer counts, under a lock of its own that nothing
	// slow is done under: the engine's goroutines take it.
	seen struct {
		sync.Mutex
		restarts  int
		lastCrash supervisor.Event // the last ChildCrashed
	}

	mu       sync.Mutex // serialises notifications, guards what follows
	stopping bool       // STOPPING=1 sent: no more pings
	status   string     // the last STATUS= sent
	failed   bool       // the last notification failed (logged once)
}

// StateChanged implements service.Observer: it nudges the loop to update
// STATUS=, without blocking.
func (r *sdRun) StateChanged(service.Service, service.State, service.State) { r.changed() }

// SupervisorEvent implements supervisor.EventObserver: it counts restarts
// and keeps the last crash for STATUS=.
func (r *sdRun) SupervisorEvent(_ *supervisor.Supervisor, e supervisor.Event) {
	switch e.Kind {
	case supervisor.ChildRestarted:
		r.seen.Lock()
		r.seen.restarts++
		r.seen.Unlock()
	case supervisor.ChildCrashed:
		r.seen.Lock()
		r.seen.lastCrash = e
		r.seen.Unlock()
	default:
		return
	}
	r.changed()
}

func (r *sdRun) changed() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// running sends READY=1 and starts the loop.
func (r *sdRun) running(healthy func(context.Context, service.Service) error) error {
	r.mu.Lock()
	r.status = r.statusText(nil)
	err := notify(daemon.SdNotifyReady + "\nSTATUS=" + r.status)
	r.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go r.loop(ctx, healthy)
	return err
}

// stop sends STOPPING=1; the loop pings no more.
func (r *sdRun) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopping = true
	r.status = r.statusText(nil)
	return notify(daemon.SdNotifyStopping + "\nSTATUS=" + r.status)
}

// stopped ends and joins the loop, bounded by ctx, and detaches the
// observer.
func (r *sdRun) stopped(ctx context.Context) error {
	r.detach()
	if r.done == nil { // the start failed: no loop
		return nil
	}
	r.mu.Lock()
	r.stopping = true // no ping from a loop left behind
	r.mu.Unlock()
	r.cancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: observe.Systemd: the watchdog's health check did not return (%w)", service.ErrStopTimeout, ctx.Err())
	}
}

// loop pings the watchdog every period while the tree is healthy, and
// updates STATUS= on changes, until ctx ends.
func (r *sdRun) loop(ctx context.Context, healthy func(context.Context, service.Service) error) {
	defer close(r.done)
	var tick <-chan time.Time
	if r.period > 0 {
		t := time.NewTicker(r.period)
		defer t.Stop()
		tick = t.C
	}
	nudge := r.nudge
	var due <-chan time.Time // a change waits for it
	var unhealthy error      // the first error of the failing checks, nil if the last passed
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			err := r.check(ctx, healthy)
			if ctx.Err() != nil {
				return
			}
			r.logHealth(err, unhealthy)
			if err == nil || unhealthy == nil { // while unhealthy, STATUS= keeps the first reason
				unhealthy = err
			}
			r.send(true, unhealthy)
		case <-nudge: // the changes of the next statusDelay make one update
			nudge, due = nil, time.After(statusDelay)
		case <-due:
			nudge, due = r.nudge, nil
			r.send(false, unhealthy)
		}
	}
}

// check runs healthy bounded by half the ping period, a panic being an
// error.
func (r *sdRun) check(ctx context.Context, healthy func(context.Context, service.Service) error) (err error) {
	hctx, cancel := context.WithTimeout(ctx, r.period/2)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = &service.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return healthy(hctx, r.root)
}

// send sends WATCHDOG=1 if ping and the tree is healthy (unhealthy nil)
// and the stop has not begun, and STATUS= if it changed. A failure is
// logged once until a notification goes through again.
func (r *sdRun) send(ping bool, unhealthy error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var msg []string
	if ping && unhealthy == nil && !r.stopping {
		msg = append(msg, daemon.SdNotifyWatchdog)
	}
	if st := r.statusText(unhealthy); st != r.status {
		r.status = st
		msg = append(msg, "STATUS="+st)
	}
	if msg == nil {
		return
	}
	err := notify(strings.Join(msg, "\n"))
	if err != nil && !r.failed {
		r.log.Error().Err(err).Msg("systemd notification failed")
	}
	r.failed = err != nil
}

// logHealth logs a change of health: was is the last check's error.
func (r *sdRun) logHealth(err, was error) {
	switch {
	case err != nil && was == nil:
		r.log.Error().Err(err).Msg("tree unhealthy: systemd watchdog not pinged")
	case err == nil && was != nil:
		r.log.Info().Msg("tree healthy again: systemd watchdog pinged")
	}
}

// statusText is the STATUS= text: the stop if it began (and the root's
// crash if that is why), the services
// running and in all, the restarts so far, the last crash, and why the
// watchdog is not pinged (unhealthy). r.mu is held.
func (r *sdRun) statusText(unhealthy error) string {
	running, total := 0, 0
	r.root.Node().Walk(func(n *graph.Node, _ int) bool {
		if s, ok := n.Value().(service.Service); ok {
			total++
			if s.State() == service.Running {
				running++
			}
		}
		return true
	})
	r.seen.Lock()
	restarts, crash := r.seen.restarts, r.seen.lastCrash
	r.seen.Unlock()
	var b strings.Builder
	if r.stopping {
		b.WriteString("stopping: ")
		if why := r.root.CrashReason(); why != nil {
			b.WriteString("the tree crashed: " + firstLine(why) + "; ")
		}
	}
	fmt.Fprintf(&b, "%d/%d services running, %d restarts", running, total, restarts)
	if crash.Reason != nil {
		why := firstLine(crash.Reason)
		if !strings.HasPrefix(why, crash.Child+": ") { // a Func's reason names it already
			why = crash.Child + ": " + why
		}
		b.WriteString("; last crash: " + why)
	}
	if unhealthy != nil && !r.stopping {
		fmt.Fprintf(&b, "; unhealthy, watchdog not pinged: %s", firstLine(unhealthy))
	}
	return b.String()
}

// firstLine is err's text up to its first newline, at most 120 bytes
// long, for a one-line STATUS=.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return clip(s, 120)
}
