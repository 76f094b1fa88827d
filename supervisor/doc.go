// Package supervisor restarts services that crash, the OTP way.
//
// A Supervisor is a service.Service whose children are restarted per its
// Spec: a strategy (strategy.OneForOne, OneForAll, RestForOne), a restart
// type per child (Permanent, Transient, Temporary), an intensity limit
// (MaxRestarts within a sliding Window, default 3 in 5s) that escalates by
// crashing the supervisor with ErrMaxRestarts, and optional backoff.
//
// # The wakeup path
//
// When a service crashes, it walks up its node path to the nearest service
// directly under a supervisor (itself included): the unit of restart. That
// unit marks itself pending on its supervisor and wakes it with a
// non-blocking send on a one-slot channel. The supervisor's one goroutine
// drains every pending exit on each wakeup, asks the strategy what to do,
// stops what must stop (reverse start order) and restarts what must restart
// (start order): Stop, reset (RestartCount+1 through the subtree),
// OnRestart, Start.
//
// # Exits
//
// A child that ends without error on its own (a Func returning nil, a Stop
// not made by the supervisor or an ancestor) has exited normally: only
// Permanent children are restarted after a normal exit, and an exit that
// does not restart the child does not set the strategy off for its
// siblings. A Temporary child's spec is removed when it ends, or when it is
// stopped as a bystander of a sibling's restart.
//
// # Failed restarts
//
// A start that fails during a restart counts as one more restart and is
// retried under the same limit: under one-for-all the siblings restarted so
// far are stopped again and the whole group retried; under rest-for-one the
// failed child and those after it. Nothing is left half-started. A child
// whose previous run still has a live task (it ignored its stop budget) is
// never started a second time: the attempt fails with
// service.ErrStopTimeout, unless a Replacement factory builds a fresh
// instance.
//
// When a child fails to start as the supervisor itself starts, the
// children started before it are stopped again in reverse, within the
// supervisor's stop budget (its Config.StopTimeout, else
// service.DefaultStopTimeout; each child within the smaller of that and
// its shutdown timeout), and the supervisor's Start returns the child's
// error.
//
// # Ownership: one goroutine does everything to the children
//
// A running supervisor holds one goroutine, whatever its number of
// children, and every change to a child is made on it, in order: starting
// the children, crash and exit handling, restarts, Add, Remove,
// Terminate, RestartChild, and also Stop and Restart called on a child
// itself. A caller waits for its request under its ctx. A call the
// goroutine cannot wait for, because it is running the caller right now
// (a child's hook during a start, stop or restart it performs, OnEvent, a
// Replacement; a child calling on itself from its own tasks), is queued and
// returns nil at once: it runs right after the current operation, and its
// failure is logged and reported as a RequestFailed event. Such code must
// pass the ctx it was given (it carries the mark that tells); code that
// passes another ctx waits, bounded only by the supervisor's budgets.
// OnEvent and a Replacement get no ctx: a call they make on the
// supervisor's goroutine is recognised by that goroutine's ID, and calls
// from other goroutines meanwhile wait as usual.
//
// While no goroutine runs (before the supervisor starts, once it has
// stopped), Add, Remove and Terminate are performed by their caller; a
// start of the supervisor waits for those in progress before its
// goroutine takes over the children.
//
// So a child is never restarted behind its supervisor's back: the Restart
// of a child whose supervisor is not running returns ErrNotRunning, the
// Restart of a terminated child clears the termination, Crash is a crash
// for every kind of child, and RestartChild of a running child returns
// ErrChildRunning (OTP's {error, running}). A child's own Stop always
// happens: if its request meets the supervisor stopping or crashed, the
// child is stopped then (or by the supervisor's Stop, when the goroutine
// ends before the request's turn), is not started again, and Stop returns
// once it is stopped, with nil or that stop's errors, never ErrNotRunning.
//
// # Budgets
//
// The supervisor's Stop stops the children in reverse start order, each
// within its shutdown timeout (ChildSpec.ShutdownTimeout, else
// Spec.ShutdownTimeout, else DefaultChildShutdown, 5s like OTP's workers; a
// child that is itself a supervisor gets what remains, like OTP's
// infinity), never more than what remains of the supervisor's own stop
// budget. A child that does not stop in time is abandoned and named; the
// next child still gets its own time. If the goroutine itself is stuck
// inside a child's hook that ignores its ctx, Stop still returns by its
// budget and says what the goroutine is busy with; the supervisor then
// refuses to start again until that goroutine has returned.
//
// # Stopping children together
//
// By default children stop as OTP's do: one after another in reverse start
// order, a child's run not cancelled before the children added after it
// have stopped. With Spec.StopTogether, whenever several children stop at
// once (the supervisor's Stop, a group restart's stops under one-for-all
// or rest-for-one, the rollback of a failed start, giving up at the
// limit), the supervisor first moves each of them to Stopping and cancels
// its run, in one pass in reverse start order, then runs the rest of each
// one's stop (OnStop, its own children, joining its tasks, OnShutdown) one
// after another in reverse start order, each within its shutdown timeout
// counted from when that child's turn comes. Their tasks return in
// parallel, as suture's services do: the waits for 10,000 workers to
// return overlap instead of adding up. The hooks still run one at a time,
// on the supervisor's goroutine. A child's Stopping event comes before the
// stops of the children after it (its "Stopping" log line still comes when
// its turn does). A child that is itself a supervisor is cancelled with
// the others but stops its own children in its turn, as its own Spec says.
// Use it for children that do not depend on each other's order.
//
// What befalls a child once its run is cancelled belongs to its stop, as
// in any stop, and with StopTogether that moment comes earlier: a crash of
// a child waiting for its turn (a Crash from another child's OnStop, a
// crash of one of its own children, a task's error) is an error of its
// stop ("crashed while stopping": in the supervisor's Stop error, or a
// StopFailed event during a group restart), where without StopTogether
// the child, still running then, would have crashed and its stop absorbed
// it. If the supervisor's goroutine is stuck (a hung OnEvent) when its
// Stop's budget ends, Stop finishes the stops of the children still
// waiting for their turn itself, as it stops those not reached.
//
// A restart attempt fails only when its start half fails (OnRestart, a
// start hook, a child's start, a crash before Running). What its stop half
// reports (OnStop, OnShutdown, closers, late task errors) is logged and
// sent as a StopFailed event. When a task of the child's previous run is
// still alive, the attempt waits for it up to the child's shutdown timeout
// and then fails with service.ErrStopTimeout naming it; without backoff the
// supervisor then gives up at once (retrying cannot help while that task
// runs), with backoff it retries after the child's next delay.
//
// # Backoff
//
// Each child has its own backoff state: a flapping child never delays a
// healthy sibling's first restart. A group restart (one-for-all,
// rest-for-one) waits out the delay of the child whose exit caused it. A
// decision that covers a child already waiting out a backoff merges with
// that restart: each child restarts once, at the later of the two times,
// and the group starts in start order, so a dependency starts before what
// depends on it. Children the strategy stops are never read as exiting on
// their own.
//
// Backoff and the intensity window run on the supervisor's clock (its
// Spec.Service.Clock, nil: package time), so a test checks them without
// waiting inside a testing/synctest bubble: see TestExampleSupervisorBackoff
// in package service's example_synctest_test.go, and "Testing your
// services" in package service.
//
// # Goroutines
//
// Backoff delays fire through the clock into the same queue, so a child
// waiting out its backoff never blocks the handling of others, nor Stop.
// Each run of a service.Func has a goroutine of its own.
//
// # Dumps
//
// A Supervisor is a service.Dumper: service.Dump shows under it its
// strategy, the restarts its window holds against its limit ("restarts 2
// of 3 in 5s") and each restart waiting out a backoff ("child pool:
// restart due in 1.2s"), read under its lock without waiting for its
// goroutine, so a dump works while that goroutine hangs in a child's hook.
// Its goroutine carries the pprof labels mode.service (its path) and
// mode.task "supervisor" (see package service, Dumps and profiles).
//
// # Observers
//
// Spec.OnEvent is the supervisor's own hook, set by whoever builds it. An
// observer attached with service.Observe to a supervisor or above it (a
// metrics collector, a live page) that implements EventObserver hears the
// same events from every supervisor of its subtree, after their OnEvent,
// with Event.Supervisor set. Neither may block the supervisor's
// goroutine.
//
// # Choices where OTP and suture differ or are silent
//
// Terminated children (Terminate) stay down through group restarts until
// RestartChild. A child whose FromSuture service returned
// suture.ErrDoNotRestart is treated as Transient for that exit; one that
// returned suture.ErrTerminateSupervisorTree makes the supervisor give up
// at once, like ErrMaxRestarts. OnEvent runs on the supervisor's goroutine
// and should not block (it holds up every child operation); a panic in it
// crashes the supervisor, a panic in a Replacement fails that restart
// attempt.
package supervisor
