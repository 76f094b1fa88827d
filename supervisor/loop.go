package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
)

// stopSlack is how much longer than its budget a supervisor's Stop waits
// for its goroutine: the children's own stops end by the budget, plus the
// short grace each gives a hook that honours its ctx.
const stopSlack = 50 * time.Millisecond

// loopState is one run of the supervisor's goroutine.
type loopState struct {
	ctx     context.Context // marked with the supervisor; cancelled by Stop
	quiet   context.Context // ctx without its cancellation: for the stops it makes, and the values of the runs it starts
	cancel  context.CancelFunc
	runDone <-chan struct{} // the supervisor's run must end (stopping or crashed)
	done    chan struct{}   // closed when the goroutine returns
	clk     clock.Clock

	stopAt  atomic.Int64                    // Stop's deadline on clk (UnixNano), 0 until Stop
	stopCtx atomic.Pointer[context.Context] // what stopAll stops the children with, set by Stop
	busy    atomic.Int32                    // what the goroutine does now (an op)...
	busyOn  atomic.Pointer[child]           // ...and to which child
	stopErr error                           // the children's stop errors; read after done
}

// halted reports whether the goroutine must no longer restart anything:
// the supervisor stops or has crashed.
func (ls *loopState) halted() bool {
	if ls.ctx.Err() != nil {
		return true
	}
	select {
	case <-ls.runDone:
		return true
	default:
		return false
	}
}

// op is what the goroutine is doing, for a Stop that gives up on it.
type op int32

const (
	opWaiting op = iota
	opStartAll
	opStart
	opStop
	opRestart
	opReplacement
	opExit
)

var opNames = [...]string{"waiting", "starting the children", "the start of ", "the stop of ", "the restart of ", "the Replacement of ", "the exit of "}

// doing records what the goroutine does now (c: the child concerned; an
// op without a child leaves the last one, which busyWith then ignores).
// Each store is a locked instruction: a value that does not change is not
// stored again.
func (ls *loopState) doing(o op, c *child) {
	if op(ls.busy.Load()) != o {
		ls.busy.Store(int32(o))
	}
	if c != nil && ls.busyOn.Load() != c {
		ls.busyOn.Store(c)
	}
}

// busyWith says what the goroutine is doing.
func (ls *loopState) busyWith() string {
	o := op(ls.busy.Load())
	if o == opWaiting || o == opStartAll {
		return opNames[o]
	}
	c := ls.busyOn.Load()
	if c == nil {
		return opNames[o]
	}
	return opNames[o] + c.ID()
}

// remaining is what is left for an operation bounded by ctx's deadline
// and, once Stop has begun, by Stop's; -1 when nothing bounds it.
func (ls *loopState) remaining(ctx context.Context) time.Duration {
	d := budgetOf(ctx)
	if at := ls.stopAt.Load(); at != 0 {
		if left := max(0, time.Unix(0, at).Sub(ls.clk.Now())); d < 0 || left < d {
			d = left
		}
	}
	return d
}

// budgetOf is the time left before ctx's deadline, or -1 (no limit).
func budgetOf(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return max(0, time.Until(dl))
	}
	return -1
}

// poke wakes the goroutine without blocking: a 1-slot channel holds at
// most one pending wakeup, which is all it needs to look again.
func poke(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// run is the supervisor's goroutine: it starts the children, handles the
// queue until Stop, then stops the children.
func (s *Supervisor) run(ls *loopState, startCtx context.Context, reply chan<- error) {
	defer close(ls.done)
	service.LabelGoroutine(seam.Token{}, &s.Base, "supervisor")
	named := seam.NameGoroutine(seam.Goid(), s.Node())
	s.named.Store(named)
	defer func() {
		s.named.CompareAndSwap(named, nil)
		named.Done()
	}()
	reply <- s.startAll(ls, startCtx)
	for ls.ctx.Err() == nil {
		ls.doing(opWaiting, nil)
		select {
		case <-s.wake:
			s.drain(ls)
		case <-ls.ctx.Done():
		}
	}
	ls.stopErr = s.stopAll(ls)
	s.mu.Lock()
	q := s.queue
	s.queue = nil
	if s.loop == ls {
		s.loop = nil
	}
	s.mu.Unlock()
	for _, it := range q {
		if it.exit != nil {
			it.exit.pending = false
		}
		switch {
		case it.req == nil:
		case it.req.kind == reqStopOwn:
			s.answer(it.req, nil) // stopped with the supervisor
		case it.req.kind == reqAdd && it.req.c != nil:
			s.answerAdd(ls, it.req, it.req.c, nil) // registered: it starts with the supervisor
		default:
			s.answer(it.req, fmt.Errorf("%w: it stopped first", ErrNotRunning))
		}
	}
}

// startAll starts the children in order (not the terminated ones). If
// one fails, those started are stopped again in reverse and the error is
// returned.
func (s *Supervisor) startAll(ls *loopState, ctx context.Context) error {
	kids := s.snapshot()
	var started []*child
	_, bounded := ctx.Deadline() // else each start's budget is read only once Stop has begun
	for _, c := range kids {
		if c.is(flagTerminated) {
			continue
		}
		_, h := c.own()
		ls.doing(opStart, c)
		rem := time.Duration(-1)
		if bounded || ls.stopAt.Load() != 0 {
			rem = ls.remaining(ctx)
		}
		if err := h.Start(ctx, ls.quiet, c.shutdown(rem)); err != nil {
			s.undoStart(ls, started)
			return err // the child's error names it
		}
		started = append(started, c)
	}
	return nil
}

// undoStart stops, in reverse, the children a failed start had started:
// a rollback, bounded as the supervisor's stop is (Config.StopTimeout, else
// service.DefaultStopTimeout), each child within the smaller of its
// shutdown timeout and what remains.
func (s *Supervisor) undoStart(ls *loopState, started []*child) {
	if len(started) == 0 {
		return
	}
	d := s.Config().StopTimeout
	if d <= 0 {
		d = service.DefaultStopTimeout
	}
	ctx, cancel := context.WithTimeout(ls.quiet, d)
	defer cancel()
	slices.Reverse(started)
	s.stopEach(ls, started, ctx, nil)
}

// stopAll stops every child in reverse start order within Stop's budget,
// and cancels pending backoffs.
func (s *Supervisor) stopAll(ls *loopState) error {
	s.unwaitAll()
	ctx := ls.quiet
	if p := ls.stopCtx.Load(); p != nil {
		ctx = *p
	}
	kids := s.snapshot()
	slices.Reverse(kids)
	var errs []error
	s.stopEach(ls, kids, ctx, func(_ *child, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// stopEach stops the children cs in the order given (reverse start
// order), each with stopChild, and gives each one's error to report (if
// not nil). With Spec.StopTogether it first halts them all (seam.Handle's
// Halt: Stopping, run cancelled), so that their tasks return together; the
// stops that follow run the rest of their steps.
func (s *Supervisor) stopEach(ls *loopState, cs []*child, ctx context.Context, report func(*child, error)) {
	if s.spec.StopTogether && len(cs) > 1 {
		for _, c := range cs {
			_, h := c.own()
			h.Halt()
		}
	}
	for _, c := range cs {
		err := s.stopChild(ls, c, ctx)
		if report != nil {
			report(c, err)
		}
	}
}

// stopChild stops c as its supervisor within its shutdown timeout (and
// what remains of ctx and of Stop's budget); the run it stops counts as
// handled, so an exit it had queued does not set the strategy off again.
func (s *Supervisor) stopChild(ls *loopState, c *child, ctx context.Context) error {
	_, h := c.own()
	ls.doing(opStop, c)
	// ls.quiet is marked already (and a Value lookup on it allocates).
	if ctx != ls.quiet && !seam.Marked(ctx, &s.owner) { // a request's ctx: mark it for the child's hooks
		ctx = seam.WithMark(ctx, &s.owner, true)
	}
	err := h.Stop(ctx, c.shutdown(ls.remaining(ctx)))
	if e := h.Exit(); e.Run > c.handled {
		c.handled = e.Run
	}
	return err
}

// drain handles the queue, in order: every exit, request and ended
// backoff that arrived before it took the batch. What arrives meanwhile
// has poked the goroutine (every enqueue does), so the goroutine's next
// select drains it at once; drain need not look again (a lock section
// less per wakeup).
func (s *Supervisor) drain(ls *loopState) {
	if ls.ctx.Err() != nil {
		return // Stop: run answers what is left
	}
	s.mu.Lock()
	// Swap the queue with the batch last handled, so that a steady stream
	// of crashes allocates nothing here.
	q := s.queue
	s.queue, s.spare = s.spare[:0], q
	for _, it := range q {
		if it.exit != nil {
			it.exit.pending = false
		}
	}
	s.mu.Unlock()
	for i, it := range q {
		if i > 0 && ls.ctx.Err() != nil { // Stop: run answers what is left
			s.mu.Lock()
			s.queue = append(slices.Clone(q[i:]), s.queue...)
			s.mu.Unlock()
			return
		}
		switch {
		case it.exit != nil:
			s.handleExit(ls, it.exit)
		case it.req != nil:
			s.handle(ls, it.req)
		case it.due != nil:
			s.due(ls, it.due)
		}
	}
}

// snapshot returns the children in start order.
func (s *Supervisor) snapshot() []*child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*child(nil), s.children...)
}
