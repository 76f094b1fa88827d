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
// # Goroutines
//
// A running supervisor holds one goroutine, whatever its number of
// children; child stops and starts run on it, one at a time, as in OTP.
// Add, Remove, Terminate and RestartChild are serialized with it. Backoff
// delays fire through the clock into the same wakeup, so a child waiting
// out its backoff never blocks the handling of others, nor Stop.
//
// A restarted service.Func runs its next run on the goroutine of the run
// that crashed (see package service). The supervisor hands it over once it
// has recorded the restart (RestartCount, the ChildRestarted event), and
// before the next child of the group starts, so a sibling's OnStart may
// wait for that function.
//
// # Where this package goes beyond DESIGN.md
//
// Terminated children (Terminate) stay down through group restarts until
// RestartChild. A child whose FromSuture service returned
// suture.ErrDoNotRestart is treated as Transient for that exit; one that
// returned suture.ErrTerminateSupervisorTree makes the supervisor give up
// at once, like ErrMaxRestarts. OnEvent runs on the supervisor's goroutine
// and must not block.
package supervisor
