// Package clock is the injectable clock used by everything time-based in
// mode: stop budgets, restart backoff, timers, cron and heartbeats.
//
// Production code takes a [Clock] (usually through [Or], so that a nil clock
// means the real one) and never calls package time directly for "now" or for
// timers. [Real] wraps package time at no extra cost. Tests use [Fake], whose
// time moves only when the test calls [Fake.Advance] or [Fake.Set] (or steps
// the wall clock alone with [Fake.StepWall]), and which lets a test wait,
// without sleeping, until the code under test has armed its timers
// ([Fake.BlockUntil]) and until the callbacks it fired have returned
// ([Fake.Settle]).
//
// Timer semantics follow Go ≥ 1.23 time.Timer: a timer's channel holds at
// most one value and a firing never blocks; after Stop or Reset returns, no
// stale value from before the call is received; Stop and Reset report
// whether the timer was pending, where a fired but not yet received value
// counts as pending (as in Go ≥ 1.23).
package clock
