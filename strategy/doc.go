// Package strategy holds mode's pure restart decisions, following Erlang/OTP:
// which children a supervisor stops and restarts when one of them exits
// ([Decide]) or when a restart fails to start ([RetryAfterFailedStart]),
// whether an exit is restarted at all ([ShouldRestart]), the restart
// intensity limit ([Intensity], [Window]) and restart backoff ([Backoff],
// [BackoffState]).
//
// Everything here is pure: no goroutines, no I/O, no clock reads. Times are
// passed in, and randomness for jitter is a number the caller draws. The
// types that keep state ([Window], [BackoffState]) are not safe for
// concurrent use; a supervisor drives them from its one goroutine.
//
// # Children are indices
//
// The caller identifies children by their index in start order, 0..n-1,
// counting only the children whose specs are still held (a removed
// Temporary child is gone; the caller renumbers). Plans list indices into
// that same numbering, taken before any Remove is applied.
//
// # OTP semantics
//
// A child that ends for good — any Temporary exit, a Transient normal
// exit — does not set the strategy off: its siblings are untouched, even
// under [OneForAll] and [RestForOne]. A Temporary child's spec is removed; a
// Transient one's is kept. A Temporary child stopped as a bystander of a
// group restart is dropped, not restarted. A group restart counts as one
// restart toward the intensity limit, and each failed start attempt during
// a restart counts as one more.
package strategy
