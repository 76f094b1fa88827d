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
// A child is started and stopped by its parent: nothing of a tree runs
// once its root's Stop has returned. A child's own Start, MaybeStart and
// Restart are refused while its parent is in Init (ErrNotStarted: never
// started, or its start rolled back) or stopping (ErrStopping), and its
// Restart also while its parent's start has not reached it yet. A child
// of a supervisor has its Restart refused with supervisor.ErrNotRunning
// instead, whenever that supervisor does not run (see package
// supervisor). A parent's OnStart may start a child early, to use it at
// once: a child started during its parent's start belongs to that start,
// which stops it if it fails. RemoveDependency returns with the child
// idle, free to be added elsewhere.
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
// Abandoned code is still the service's code: what it calls acts on the
// service as it is now. Go, Every, FixedDelay, Cron, Defer and AddCloser
// take no ctx and register on the current run, so abandoned code of an
// earlier run that calls them once a Restart has started a new run (a
// Restart of a service no supervisor holds, a root or a plain Base's
// child, waits for no abandoned code) adds its task, timer or closer to
// that run. Such code should check
// its own ctx (ended with its run) before it registers anything.
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
// abandoned, as above) once the start ctx has ended. The hook's ctx then
// ends with the start ctx's error (context.DeadlineExceeded when its
// deadline passed, context.Canceled when it was cancelled), and so does
// Start's error: errors.Is(err, context.DeadlineExceeded) tells a start
// that ran out of time, for a child's start and a supervisor's too. OnStop, OnShutdown
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
// skipped and counted, never run in a burst); with the FixedDelay option it
// sleeps the interval after each call instead, so a slow call is never
// followed at once by the next. Ticks is the fixed-rate schedule as a
// range-over-func iterator; Cron reads 5-field specs and descriptors with
// robfig/cron/v3 in a time zone (default time.Local), across DST as
// cron(8) does. Timers set a diag flag named after them while they run and
// keep counters (Timers). Config.MonitoringInterval calls the
// Healthchecker hook every interval (ErrUnhealthy on failure);
// CheckHealth calls it once, now, for a /healthz handler;
// Config.HeartbeatDeadline crashes a service whose code stops calling
// Heartbeat (ErrHung, naming its diag flags).
//
// # Testing your services
//
// Test time-based code without sleeping with the standard library's
// testing/synctest (Go 1.25+): inside synctest.Test, time.Now, timers and
// context deadlines read a fake clock that jumps ahead whenever every
// goroutine of the test is blocked. Everything time-based here (Every,
// Cron, Ticks, Sleep, stop budgets, heartbeat deadlines, monitoring, and a
// supervisor's backoff and intensity window) reads that clock when
// Config.Clock is nil, the default, and every goroutine a service starts
// belongs to the test's bubble and is joined by Stop. So a test can let a
// day of cron runs, or a minute of backoff, pass in milliseconds:
//
//	synctest.Test(t, func(t *testing.T) {
//		s := &Report{}
//		if err := service.Start(t.Context(), s); err != nil {
//			t.Fatal(err)
//		}
//		time.Sleep(72 * time.Hour) // returns at once
//		_ = s.Stop(context.Background())
//		// check what s did
//	})
//
// The file example_synctest_test.go of this package is a copyable test:
// TestExampleCronJobInTimeZone checks a nightly Cron job in Europe/Berlin
// across a change of daylight-saving time, TestExampleSupervisorBackoff the
// delays between a failing worker's restarts. Start and stop services
// inside the bubble; one started outside it does not follow its clock.
//
// # Porting from Python's mode
//
// A program ported from Python's mode library (or from core_service, a
// similar Python library of asyncio services) trips on these differences:
//
//   - Contexts are explicit. Every hook and task gets a context.Context
//     and must return when it is cancelled (the service is stopping); a
//     blocking call without one (a network read, a channel receive) must be
//     bounded by it, e.g. with select on ctx.Done(). There is no event loop
//     to cancel a task for you: code that ignores its ctx is abandoned by
//     Stop at the stop budget and reported.
//   - Children are added once. Python mode adds dependencies in on_start
//     or on_started; here OnStart and OnStarted run again at every restart
//     while children stay attached, so add them before Start, in
//     Dependencies() or in OnFirstStart. Adding one from OnStart or
//     OnStarted fails the first start with ErrAddedInOnStart.
//   - Periodic work. Python mode's Service.timer keeps to its rhythm, like Every;
//     core_service's periodic task with sleep_interval sleeps after each
//     run: use Every with FixedDelay.
//   - Cron's time zone is time.Local, the zone of the process (set by the
//     TZ environment variable or the system), not UTC: pass
//     InLocation(time.UTC) or a "CRON_TZ=UTC " prefix where a job must run
//     at UTC times. Across daylight-saving changes Cron follows cron(8):
//     see Base.Cron.
//   - Restart limits. A supervisor (package supervisor) allows 3 restarts
//     in 5 seconds by default (OTP's default is 1 in 5); one more makes it
//     stop its children and crash with supervisor.ErrMaxRestarts, which its
//     own supervisor, or the process, sees as a crash. A worker expected to
//     retry a flaky dependency for long needs a Spec with a larger
//     MaxRestarts and Window, and a Backoff.
//   - Lifecycle lines ("Starting", "Started", "Stopping", "Stopped") are
//     logged at Debug by default (Python mode's mundane_level is info); set
//     Config.LogLevel to see them at Info. Crashes, restarts and give-ups
//     are logged above Debug.
//   - Health. Python mode's healthcheck becomes the Healthchecker hook; call it
//     from an HTTP handler with CheckHealth, and let Config.MonitoringInterval
//     crash the service when it fails.
//   - Configuration is a struct, Config, set with Configure; a second
//     Configure replaces the first (see Base.Configure).
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
// # Observing a tree
//
// Observe attaches an Observer to a service and everything below it
// (children added later included): it hears of each state change
// (StateChanged), or of those to the states it names (StateFilter), and,
// through optional interfaces, of each stop's duration and outcome
// (StopObserver) and of the supervisors' events
// (supervisor.EventObserver). The calls come synchronously from the
// goroutine that made the change, with no lock held: an observer must not
// block, nor call into the tree; it hands the news on (a non-blocking
// send, an atomic counter). While no observer is attached anywhere, a
// state change costs one atomic load; an attached observer costs the
// engine no allocation. Package github.com/gomode/mode/observe (a module
// of its own) builds a live page, health endpoints, Prometheus metrics
// and systemd notifications on it.
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
// # Logging
//
// Every service logs with zerolog, with service=<ShortLabel> on every
// line (Base.Log). Its logger is Config.Logger; else its parent's (the
// service or supervisor it was added to); else, for a service without a
// parent, the one of the ctx it was started with (WithLogger); else
// zerolog's global logger. So one WithLogger on the root's start ctx, or
// one Config.Logger on the root, sets the logger of a whole tree. A
// program that logs with log/slog passes SlogLogger(handler): the lines
// reach its handler as structured records.
//
// Levels: the routine lines ("Starting", "Started", "Stopping",
// "Stopped") are at Config.LogLevel, Debug by default. A crash is logged
// at Error, once, under the service that crashed, with the unit of restart
// (unit=<label>: what its supervisor restarts, or the root) and, for a
// panic, its stack (stack=[...], one frame per element, from the function
// that panicked). A stack is printed once: a later line with the same
// frames (the same panic passed on, or the same code panicking again, as a
// child that keeps crashing) carries stack_seen=<count> instead, for ten
// minutes; then the stack is printed in full again, beside its count. A
// supervisor logs each restart at Info (child, restarts, delay), a backoff
// it waits out at Info, and giving up (the root) or escalating (restart
// intensity exceeded, under a parent) at Error. A Stop that waits for more
// than a second (for tasks, SetShutdown, a transition in progress, a hook
// such as OnStop) says, at Info, what it waits for and the budget left
// (budget_left), after 1s, then 2s, 4s... later.
//
// Fields: a duration is text with its unit, rounded to the millisecond
// (drift=74ms, delay=1.5s); a number without a unit is a count. An error
// that joins several (a Stop's report) is logged as one line per error,
// each with the wraps around it, never as one line with newlines inside.
//
// # Error texts
//
// An error names each service once and says each operation once. The
// service whose method was called opens the text with its label and the
// operation: "Server(web): start: ", "Server(web): stop: ". A service
// started or stopped as a step of its parent's operation, or restarted by
// its supervisor, adds only its label, since the outermost said the
// operation (and nothing when the reason names it already):
//
//	Server(web): start: Pool(db): Conn(primary): OnStart: dial: refused
//
// A caller adds nothing its callee said already: a parent does not add
// "child X" (X named itself), a supervisor that gives up names the child
// only when the reason does not begin with it:
//
//	workers: restart intensity exceeded (3 in 5s): pool: restart intensity exceeded (3 in 5s): api: boom
//
// Lists of what still runs after a stop budget name each item by its path
// from the root (web/db: task "ping"), because they are reported again
// later, out of this context. Every sentinel stays reachable with
// errors.Is through every wrap.
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
