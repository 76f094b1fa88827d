package service

import (
	"context"
	"time"
)

// The ctx of the start hooks when the start ctx has a deadline.
//
// A start hook's ctx is the run's ctx (its values, its marker, the start
// ctx's supervisor marks), also ended by the end of the start ctx while
// the start runs. A context.WithCancel of the run's ctx, cancelled when
// the start ctx ends, says context.Canceled when the start ctx's deadline
// passed: the hook returns "context canceled" and the caller, who checks
// errors.Is(err, context.DeadlineExceeded), is told something else. A ctx
// derived from the start ctx would say DeadlineExceeded, but would also
// end with the start ctx after the start (a hook may hand its ctx to code
// that runs until Stop), and a context.WithDeadline would end at the
// deadline after the start too.
//
// So the hooks get a context.WithCancel of a deadlineParent: a Context of
// the engine's own, which ends when the run's ctx ends or (until the
// start is done) when the start ctx ends, and whose Err is then the
// start ctx's error, DeadlineExceeded included. Contexts derived from it
// (the hooks' ctx, and what a hook derives from that) hear of its end
// through its AfterFunc, with its Err: no goroutine waits meanwhile. It
// runs their cancellation on a goroutine of its own, a moment after the
// run's ctx has ended: the run's stop waits for the hooks' ctx to end
// (run.endHooks), so that it has once Stop (or a failed Start) returns. A
// start ctx without a deadline can only be cancelled: its hooks get a
// plain context.WithCancel of the run's ctx (see startHooks.call).

// startEnded is the cause with which a deadlineParent's inner ctx is
// cancelled when the start ctx ends: err is the start ctx's error.
type startEnded struct{ err error }

func (e *startEnded) Error() string { return "start ctx ended: " + e.err.Error() }

// deadlineParent is the parent of the start hooks' ctx when the start ctx
// has a deadline. Its Done and AfterFunc are those of inner, a
// WithCancelCause of values (so a Stop or a crash of the run ends it at
// once, as a plain child of the run's ctx); its Value is that of values,
// never inner's own, so that a ctx derived from it is not attached to
// inner directly (it would then hear context.Canceled) but through
// AfterFunc, with Err. It has no deadline: after the start its ctx lives
// until the run ends, and a ctx derived from it keeps its own timeouts.
type deadlineParent struct {
	values context.Context // the run's ctx, with the start ctx's marks
	inner  context.Context
}

// newDeadlineHookCtx returns the start hooks' ctx for a start under
// start, which has a deadline, its cancel, and the function that stops
// the start ctx's end from ending it (once the start is done). The run
// keeps the ctx and its cancel: its stop waits for the ctx to end, then
// cancels it (run.endHooks).
func newDeadlineHookCtx(values, start context.Context) (context.Context, context.CancelFunc, func() bool) {
	inner, cancel := context.WithCancelCause(values)
	p := &deadlineParent{values: values, inner: inner}
	stop := context.AfterFunc(start, func() { cancel(&startEnded{err: start.Err()}) })
	// Not cancelled before it has ended: hctx ends with p (when the run
	// ends, at the latest), and with p's error.
	hctx, cancelHooks := context.WithCancel(p)
	return hctx, cancelHooks, stop
}

func (*deadlineParent) Deadline() (time.Time, bool) { return time.Time{}, false }
func (p *deadlineParent) Done() <-chan struct{}     { return p.inner.Done() }
func (p *deadlineParent) Value(key any) any         { return p.values.Value(key) }
func (p *deadlineParent) String() string            { return "mode start hook context" }

// Err is the start ctx's error if its end ended p, else (the run ended)
// context.Canceled. The first cancellation of inner records its cause,
// so Err never changes once set.
func (p *deadlineParent) Err() error {
	if p.inner.Err() == nil {
		return nil
	}
	if e, ok := context.Cause(p.inner).(*startEnded); ok {
		return e.err
	}
	return context.Canceled
}

// AfterFunc lets a ctx derived from p hear of its end without a goroutine
// of its own (see context.AfterFunc).
func (p *deadlineParent) AfterFunc(f func()) func() bool { return context.AfterFunc(p.inner, f) }
