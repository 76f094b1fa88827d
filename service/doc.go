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
// OnStarted, Running. A failure at any step is undone as a Stop of what
// started (fx's rule: stop hooks only for what started): OnStop if OnStart
// had returned nil, started children in reverse, tasks joined, the exit
// stack, OnShutdown if OnStart had returned nil. The rollback is bounded by
// the stop budget, not by the start ctx (which may have expired), and
// leaves the service in Init: nothing keeps running, a server started in
// OnStart is shut down.
//
// Stop: Stopping (Done closed), "Stopping", OnStop, children in reverse
// order, the SetShutdown wait (if configured), tasks joined, exit stack
// (LIFO), OnShutdown, Shutdown, "Stopped".
//
// Restart: Stop, reset (RestartCount+1 through the subtree), OnRestart
// (parents first), Start without OnFirstStart.
//
// # Budgets: Stop always returns
//
// Stop returns within its budget (Config.StopTimeout, default 10s, or the
// ctx's deadline if earlier) plus a few tens of milliseconds, whatever user
// code does. A hook, the exit stack or a task still running when the
// budget ends is abandoned: Go cannot kill it, so it keeps running on its
// own goroutine, is named with its path in Stop's error (ErrStopTimeout),
// and is logged when it finally returns; Stop goes on with the next step.
// Each child gets what remains (under a supervisor, at most its shutdown
// timeout, so one hung child never eats a sibling's time). The budget
// story from the top: a Worker's stop budget (30s by default, Kubernetes'
// grace period) is the deadline of the root's Stop; every level below takes
// the smaller of its own timeout and what remains. A supervisor never
// starts a service again while abandoned code of its last run is alive.
//
// # Contexts
//
// The ctx given to Start bounds the start only. Each run gets its own
// context, context.WithCancel(context.WithoutCancel(startCtx)): values flow
// down, cancellation does not; only the service's Stop or a crash cancels
// it, and context.Cause says which (ErrStopped or the crash reason). Tasks
// get that run context. The start hooks (OnFirstStart, OnStart, OnStarted)
// get the run context, also cancelled when the start ctx ends before the
// start does, so a hook waiting on a slow dependency ends when the caller
// gives up; if the hook ignores it, Start returns anyway (the hook is
// abandoned, as above) once the start ctx has ended. OnStop, OnShutdown
// and OnRestart get a context that the stop does not cancel, with the
// caller's values, ending with the budget. Every task and hook context is
// marked with its service, so Stop and Restart called from inside the
// service (or a descendant) begin at once, finish on their own goroutine
// and return without waiting for themselves.
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
// # Hang detection per task
//
// Heartbeat is one deadline for the whole service: any of its code that
// beats keeps it alive, so a healthy timer hides a hung main loop. Watch
// gives one task its own deadline: the task calls Watch(ctx, name,
// deadline) with its context, then Beat as it makes progress; a task that
// misses its deadline crashes the service with ErrHung naming the task and
// the diag flags ("task \"consume\": no heartbeat for 30s while:
// committing"), and a supervisor restarts it like any crash. A wait that is
// no hang, a consumer blocked on an empty queue, is declared with Idle:
// the deadline does not run until the next Beat. See Watch for the loop.
//
// # Dumps and profiles
//
// Dump renders the tree for an operator: each service's state, restart
// count, hooks, diag flags and crash reason, then its live tasks, its
// timers with their counters, its heartbeat and watchdogs, and lines a
// service adds itself (Dumper: a supervisor adds its strategy, the
// restarts used of its limit and the backoff restarts due). It waits for
// no service, so it works while a hook hangs.
//
// Every goroutine the library starts for a service carries two
// runtime/pprof labels: LabelService ("mode.service"), the service's path
// from the root such as "app/workers/pool", and LabelTask ("mode.task"),
// the task's name (the name given to Go, a timer's name, a Func's name,
// "monitor: heartbeat", "watch: <name>", a hook's name for a bounded hook
// call, "supervisor" for a supervisor's goroutine). Goroutines they start
// inherit the labels. So DumpStacks writes every goroutine's stack under
// the service it works for, and CPU and goroutine profiles can be cut by
// service:
//
//	go tool pprof -tagfocus=mode.service=app/workers/pool cpu.pprof
//	go tool pprof -tags goroutine.pprof
//
// A goroutine started from a hook that runs on its caller's goroutine
// (OnStart under a plain Start with a ctx that never ends) inherits the
// caller's labels; start it with Go to label it as the service's.
//
// # Goroutines
//
// An idle service holds no goroutine. Each task (Go), each Func run, each
// timer loop (one per worker of Every or Cron), each monitor (health,
// heartbeat) and each watchdog (Watch) holds one, owned by the run and joined by Stop; Ticks holds
// none. Nothing outlives Stop except a task that ignores its context past
// the stop budget, which Stop reports and abandons.
//
// Each run of a Func has a goroutine of its own, started once its start
// has completed. A hook bounded by a budget (a stop hook, the exit stack,
// OnRestart, a start hook when the start ctx can end) runs on a goroutine
// of its own for the duration of the call, so that it can be abandoned.
//
// # Under a supervisor
//
// A directly supervised service belongs to its supervisor: its own Stop
// and Restart are requests handled on the supervisor's goroutine (see
// package supervisor), Crash wakes that goroutine. A Stop from outside is
// a normal exit.
//
// # Choices worth knowing
//
// A Stop that aborts a Start in progress leaves the service in Init (the
// start was rolled back), not Shutdown. A normal exit of a service that is
// not directly supervised is not reported anywhere: its parent keeps
// running. A Func's function starts as the last step of its start, once
// the state is Running: so a Start never fails because the function
// returned quickly, and a child's OnStart must not wait for its parent
// Func's function.
package service
