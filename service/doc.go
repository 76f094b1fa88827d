// Package service is the lifecycle of mode for Go: services that start, run
// background tasks, own child services and stop in a known order.
//
// A service is any struct that embeds Base by value. Base's zero value is
// ready; there is no constructor and no back-pointer to set. Optional hooks
// are one-method interfaces (OnFirstStarter, OnStarter, OnStartedHook,
// OnStopper, OnShutdowner, OnRestarter, Dependent, Healthchecker) found by
// type assertion on the value handed to the runtime:
//
//	type Consumer struct {
//		service.Base
//	}
//
//	func (c *Consumer) OnStart(ctx context.Context) error {
//		return c.Go("fetch", c.fetch)
//	}
//
//	var _ service.OnStarter = (*Consumer)(nil)
//
//	err := service.Start(ctx, &Consumer{})
//
// # Order of things
//
// Start: Dependencies() (first attempt only), OnFirstStart (until it once
// succeeds), "Starting", OnStart, children in the order added, "Started",
// OnStarted, Running. A failure at any step rolls back everything the Start
// began, in reverse, and leaves the service in Init.
//
// Stop: Stopping (Done closed), "Stopping", OnStop, children in reverse
// order, the SetShutdown wait (if configured), tasks joined, exit stack
// (LIFO), OnShutdown, Shutdown, "Stopped". Stop is bounded by the stop
// budget and says which tasks did not return.
//
// Restart: Stop, reset (RestartCount+1 through the subtree), OnRestart
// (parents first), Start without OnFirstStart.
//
// # Contexts
//
// The ctx given to Start bounds the start only. Each run gets its own
// context, context.WithCancel(context.WithoutCancel(startCtx)): values flow
// down, cancellation does not; only the service's Stop or a crash cancels
// it, and context.Cause says which (ErrStopped or the crash reason). Stop
// hooks get a context that the stop does not cancel, bounded by the stop
// budget. Every task and hook context is marked with its service, so Stop
// and Restart called from inside the service (or a descendant) begin at
// once, finish on their own goroutine and return without waiting for
// themselves.
//
// # Crashes
//
// A task or hook error or panic after start, a Func returning an error, or
// Crash(err) crashes the service: the first reason wins, the subtree is
// marked crashed, and the nearest service directly under a supervisor (see
// package supervisor) is the unit of restart whose supervisor is woken at
// once. With no supervisor above, the whole tree is marked crashed.
//
// # Time
//
// Every runs a function on fixed-rate slots (anchor + k·interval, like
// time.Ticker: a late wake runs once for the latest slot, missed slots are
// skipped and counted, never run in a burst); Ticks is the same schedule as
// a range-over-func iterator; Cron reads 5-field specs and descriptors with
// robfig/cron/v3 in a time zone, across DST as cron(8) does. Timers set a
// diag flag named after them while they run and keep counters (Timers).
// Config.MonitoringInterval calls the Healthchecker hook every interval
// (ErrUnhealthy on failure); Config.HeartbeatDeadline crashes a service
// whose code stops calling Heartbeat (ErrHung, naming its diag flags).
// Everything time-based reads Config.Clock, so tests drive a fake clock.
//
// # Goroutines
//
// An idle service holds no goroutine. Each task (Go), each Func run, each
// timer loop (one per worker of Every or Cron) and each monitor (health,
// heartbeat) holds one, owned by the run and joined by Stop; Ticks holds
// none. Nothing outlives Stop except a task that ignores its context past
// the stop budget, which Stop reports and abandons.
//
// A Func directly under a supervisor is restarted on the goroutine of the
// run that crashed (DESIGN.md's aim "a Func rerun on its own goroutine"):
// when its function fails, that goroutine unregisters from the run, wakes
// the supervisor and waits to be handed the next run, so a restart starts
// no goroutine. It ends instead as soon as the service is left stopped (a
// Stop, a restart that fails, a rollback), so it never outlives the
// service's Stop either.
//
// # Where this package goes beyond DESIGN.md
//
// A Stop that aborts a Start in progress leaves the service in Init (the
// start was rolled back), not Shutdown. Rollback undoes the start in
// reverse: machinery, started children, then tasks, then the exit stack.
// A normal exit of a service that is not directly supervised is not
// reported anywhere: its parent keeps running. A Func's function starts as
// the last step of its start, once the state is Running (DESIGN.md only
// says it runs in one goroutine): so a Start never fails because the
// function returned quickly, and a child's OnStart must not wait for its
// parent Func's function.
package service
