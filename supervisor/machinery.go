package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
)

// machinery is what the service engine runs besides the user's hooks.
type machinery struct{ s *Supervisor }

// Start validates the spec, resets the per-run state (an empty intensity
// window, no pending backoff) and starts the supervisor's goroutine, which
// starts the children in order. It waits for that under ctx; when ctx ends
// first it returns ctx's error (the engine then rolls the start back, and
// Stop stops what did start).
func (m machinery) Start(ctx context.Context) error {
	s := m.s
	if err := s.spec.Validate(); err != nil {
		return err
	}
	w, err := strategy.NewWindow(s.spec.intensity())
	if err != nil {
		return err
	}
	clk, runDone := s.clock(), s.Done() // the Base's lock: not under s.mu
	s.mu.Lock()
	// Requests their callers perform while no goroutine runs (a Remove
	// stopping a child) end before the goroutine takes over the children.
	for s.directs > 0 {
		if s.directsIdle == nil {
			s.directsIdle = make(chan struct{})
		}
		idle := s.directsIdle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
		s.mu.Lock()
	}
	if ls := s.stale; ls != nil {
		select {
		case <-ls.done:
			s.stale = nil
		default:
			s.mu.Unlock()
			return fmt.Errorf("%w: the goroutine of its last run is still running (%s)", service.ErrStopTimeout, ls.busyWith())
		}
	}
	// No goroutine of an earlier run is left: the goroutine's state is
	// this call's to reset.
	s.window, s.now, s.waiting = w, clock.Stopwatch(clk), nil
	if s.backs {
		s.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	for _, c := range s.children {
		c.pending, c.ended, c.backoff = false, false, nil
	}
	s.queue = nil
	lctx, cancel := context.WithCancel(seam.WithMark(context.WithoutCancel(ctx), &s.owner, false))
	ls := &loopState{ctx: lctx, quiet: context.WithoutCancel(lctx), cancel: cancel,
		runDone: runDone, done: make(chan struct{}), clk: clk}
	ls.doing(opStartAll, nil)
	s.loop = ls
	s.mu.Unlock()
	reply := make(chan error, 1)
	go s.run(ls, seam.WithMark(ctx, &s.owner, true), reply)
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
	}
	// The children's start hooks got the same ctx: give the goroutine the
	// slack to report what it gave up on, else say what it is busy with.
	t := time.NewTimer(stopSlack)
	defer t.Stop()
	select {
	case err := <-reply:
		if err != nil {
			return err
		}
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%w: still busy with %s", ctx.Err(), ls.busyWith())
	}
}

// Stop stops the goroutine, which stops the children in reverse start
// order, each within its shutdown timeout and what remains of budget. It
// waits for that until ctx ends (the engine's stop hooks' ctx, which ends
// with the budget), plus a small slack; if the goroutine is
// still busy then (inside a child's hook that ignores its ctx), Stop
// abandons it, says what it is busy with (service.ErrStopTimeout), and a
// new start of the supervisor is refused until it has returned.
func (m machinery) Stop(ctx context.Context, budget time.Duration) error {
	s := m.s
	s.mu.Lock()
	ls := s.loop
	s.mu.Unlock()
	if ls == nil {
		return nil
	}
	ls.stopAt.Store(ls.clk.Now().Add(min(budget, math.MaxInt64/4)).UnixNano())
	// The children's stop hooks are waited for by whoever waits for this
	// Stop: they get its marks too (a parent supervisor's, say).
	sctx := seam.WithMark(context.WithoutCancel(ctx), &s.owner, true)
	ls.stopCtx.Store(&sctx)
	ls.cancel()
	poke(s.wake)
	select {
	case <-ls.done:
		return ls.stopErr
	case <-ctx.Done(): // the engine's hook ctx: it ends with the budget
	}
	t := time.NewTimer(stopSlack)
	defer t.Stop()
	select {
	case <-ls.done:
		return ls.stopErr
	case <-t.C:
	}
	s.mu.Lock()
	if s.loop == ls {
		s.loop, s.stale = nil, ls
	}
	s.mu.Unlock()
	busy := ls.busyWith()
	// Until it returns, a Stop of the stopped supervisor names it too.
	s.self().Abandoned("its goroutine, busy with "+busy, ls.done)
	errs := []error{fmt.Errorf("%w: %s: its goroutine is still busy with %s", service.ErrStopTimeout, s.ShortLabel(), busy)}
	// The budget is spent: the children it did not reach are stopped with
	// no budget (their runs cancelled, nothing waited for but the short
	// grace a hook that honours its ctx gets), all at once, so that the
	// graces do not add up.
	kids := s.snapshot()
	kerrs := make([]error, len(kids))
	var wg sync.WaitGroup
	for i, c := range kids {
		_, h := c.current()
		wg.Go(func() { kerrs[i] = h.Stop(ls.quiet, 0) })
	}
	wg.Wait()
	return errors.Join(append(errs, kerrs...)...)
}
