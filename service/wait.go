package service

import (
	"context"
	"reflect"
	"time"
)

// Done returns a channel closed when the current run must end: the service
// is stopping or has crashed (Python mode's should_stop). Before the first start it
// returns the channel of the coming run. The cause is
// context.Cause of the run context: ErrStopped or the crash reason.
func (b *Base) Done() <-chan struct{} { return b.current().doneCh() }

// current returns the current run, or the coming one before the first
// start, whose done channel it makes (the run has no context yet).
func (b *Base) current() *run {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.currentLocked()
}

// currentLocked is current with b.mu held.
func (b *Base) currentLocked() *run {
	if b.cur == nil {
		b.cur = newRun(b)
	}
	if r := b.cur; r.ctx == nil && r.done == nil {
		r.done = make(chan struct{})
	}
	return b.cur
}

// WaitUntilStopped waits until the current run has ended: it returns nil
// once a stop has finished, the crash reason as soon as the run crashed
// (once the stop or rollback in progress has finished, if one is: a failed
// start's cause after its rollback), or ctx.Err(). On a service never started it returns nil at once. Do not
// call it from the service's own tasks for a stop that must join them.
func (b *Base) WaitUntilStopped(ctx context.Context) error {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r == nil || r.ctx == nil {
		return nil
	}
	select {
	case <-r.doneCh():
	case <-ctx.Done():
		return ctx.Err()
	}
	if reason := r.crashReason(); reason != nil && !r.has(runStopped) {
		return reason // crashed, not being stopped (a rollback records its cause too)
	}
	select {
	case <-r.wait(&r.ended):
		return r.crashReason()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetShutdown signals a Stop waiting for shutdown (Config.WaitForShutdown)
// that it may go on (Python mode's set_shutdown). It applies to the current run;
// before start and after stop it does nothing. Idempotent.
func (b *Base) SetShutdown() {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r != nil && r.ctx != nil && b.State() != Init { // not the coming run's
		r.fire(&r.shutdown)
	}
}

// Sleep waits for d on the service's clock. It returns nil after d, the
// run's cause (ErrStopped or the crash reason) as soon as the service stops
// or crashes, or ctx.Err() when ctx ends first (Python mode's sleep, which here does
// not miss a crash).
func (b *Base) Sleep(ctx context.Context, d time.Duration) error {
	r := b.current()
	select {
	case <-r.doneCh():
		return r.cause()
	default:
	}
	t := b.clock().NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-r.doneCh():
		return r.cause()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cause is why run r ended: its crash reason, else ErrStopped.
func (r *run) cause() error {
	if reason := r.crashReason(); reason != nil {
		return reason
	}
	return ErrStopped
}

// Await receives from ch unless s stops or crashes first, or ctx ends
// (Python mode's wait). It returns the value and ok as a receive would, or the
// zero value, false and the reason: s's cause (ErrStopped or the crash
// reason) or ctx.Err().
func Await[T any](ctx context.Context, s Service, ch <-chan T) (v T, ok bool, err error) {
	if isNil(s) {
		return v, false, ErrNilService
	}
	r := s.base().current()
	select {
	case v, ok = <-ch:
		return v, ok, nil
	case <-r.doneCh():
		return v, false, r.cause()
	case <-ctx.Done():
		return v, false, ctx.Err()
	}
}

// AwaitFirst waits until the first of chans is ready (a value or closed),
// unless s stops or crashes first, or ctx ends (Python mode's wait_first). It
// returns the index of that channel with the value and ok; else -1 and the
// reason, as Await. It starts no goroutine.
func AwaitFirst[T any](ctx context.Context, s Service, chans ...<-chan T) (i int, v T, ok bool, err error) {
	if isNil(s) {
		return -1, v, false, ErrNilService
	}
	r := s.base().current()
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	for _, ch := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
	}
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.doneCh())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	chosen, recv, recvOK := reflect.Select(cases)
	switch chosen {
	case len(chans):
		return -1, v, false, r.cause()
	case len(chans) + 1:
		return -1, v, false, ctx.Err()
	}
	if recvOK {
		v = recv.Interface().(T)
	}
	return chosen, v, recvOK, nil
}

// WaitStarted waits until the current run (or, before the first start, the
// coming one) has completed its start. It returns nil once the run has
// reached Running (even if it has stopped since), the run's cause
// (ErrStopped, the crash or rollback reason) if it ended before that, or
// ctx.Err(). Do not call it from a start hook of the service itself.
func (b *Base) WaitStarted(ctx context.Context) error {
	r := b.current()
	running := r.wait(&r.running)
	select {
	case <-running:
		return nil
	case <-r.doneCh():
		select {
		case <-running:
			return nil
		default:
			return r.cause()
		}
	case <-ctx.Done():
		return ctx.Err()
	}
}
