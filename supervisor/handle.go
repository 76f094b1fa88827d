package supervisor

import (
	"context"
	"fmt"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
)

// handle performs req on the supervisor's goroutine.
func (s *Supervisor) handle(ls *loopState, req *request) {
	if err := req.ctx.Err(); err != nil { // its caller gives up, or has
		if req.kind == reqAdd && req.c != nil {
			s.takeBack(ls, req.c) // registered before the goroutine ran: not added after all
		}
		s.answer(req, err)
		return
	}
	if ls.halted() {
		switch {
		case req.kind == reqAdd && req.c != nil:
			s.answerAdd(ls, req, req.c, nil) // registered already: it starts with the supervisor
		case req.kind == reqStopOwn:
			// The supervisor stops (its Stop would stop the child next) or
			// has crashed: it restarts nothing, so the child's own Stop is
			// done now, as the supervisor's stop does it (no exit to
			// handle), and its caller learns that the child is stopped.
			s.answer(req, s.stopChild(ls, req.c, req.ctx))
		default: // a restart, an add, a remove: what cannot be done now
			s.answer(req, fmt.Errorf("%w (state %s)", ErrNotRunning, s.State()))
		}
		return
	}
	c := req.c
	if c != nil && c.is(flagGone) {
		if req.kind == reqAdd {
			// Registered, started with the supervisor, then ended and
			// removed (a Temporary child), or removed by a Remove that
			// came first: it was added.
			s.answer(req, nil)
			return
		}
		s.answer(req, ErrNoChild)
		return
	}
	switch req.kind {
	case reqAdd:
		c, err := s.addRunning(ls, req)
		s.answerAdd(ls, req, c, err)
	case reqRemove, reqTerminate:
		s.answer(req, s.takeDown(req, true, func() error { return s.stopChild(ls, c, req.ctx) }))
	case reqRestartByID:
		if running(c) {
			s.answer(req, ErrChildRunning)
			return
		}
		s.restartByHand(ls, req)
	case reqRestartOwn:
		s.restartByHand(ls, req)
	case reqStopOwn:
		svc, _ := c.current()
		switch svc.State() {
		case service.Running:
			err := s.stopChild(ls, c, req.ctx)
			s.answer(req, err)
			s.applyExit(ls, c, nil, false) // a stop from outside is a normal exit
		case service.Crashed: // its crash is its exit
			s.answer(req, nil)
			s.handleExit(ls, c)
		default: // down already (terminated, waiting out a backoff): no exit
			s.answer(req, s.stopChild(ls, c, req.ctx))
		}
	}
}

// opCtx is the ctx of a start a request asks for: it ends when the
// request's ctx ends or the supervisor stops, and is marked with the
// supervisor. Call release when done.
func (s *Supervisor) opCtx(ls *loopState, ctx context.Context) (octx context.Context, release func()) {
	octx, cancel := context.WithCancel(seam.WithMark(ctx, &s.owner, false))
	stop := context.AfterFunc(ls.ctx, cancel)
	return octx, func() { stop(); cancel() }
}

// takeDown performs a Remove or a Terminate of req.c, stopping it with
// stop: a terminated child is kept down, a removed one (and a terminated
// Temporary one) is dropped. onLoop: on the supervisor's goroutine, which
// owns the backoffs.
func (s *Supervisor) takeDown(req *request, onLoop bool, stop func() error) error {
	c := req.c
	if req.kind == reqTerminate {
		s.mu.Lock()
		c.set(flagTerminated, true)
		s.mu.Unlock()
		if onLoop {
			s.unwait(c)
		}
	}
	err := stop()
	if req.kind == reqRemove || c.spec.Restart == strategy.Temporary {
		if e, later := s.drop(c, onLoop); later {
			req.removed = &e
		}
	}
	return err
}

// running reports whether c's service runs (or is starting).
func running(c *child) bool {
	svc, _ := c.current()
	st := svc.State()
	return st == service.Running || st == service.Starting
}

// addRunning adds and starts the child of an Add while the supervisor
// runs (req.c: registered already by addDirect, to be started), and
// returns it. If the start fails, the child is not added. It does not
// write req: its caller may read it once it gave up (see submit).
func (s *Supervisor) addRunning(ls *loopState, req *request) (*child, error) {
	c := req.c
	if c == nil {
		var auto string
		var err error
		if c, auto, err = s.newChild(req.svc, req.h, req.spec); err != nil {
			return nil, err
		}
		s.mu.Lock()
		err = s.registerLocked(c, auto)
		s.mu.Unlock()
		if err != nil {
			_ = s.self().Detach(req.h)
			return nil, err
		}
	}
	if running(c) || req.c != nil && req.h.Exit().Run > req.run {
		// The supervisor's start got to it: it runs, or it ran and its
		// exit is the strategy's (a Transient child that exited is not
		// started again).
		return c, nil
	}
	ctx, release := s.opCtx(ls, req.ctx)
	defer release()
	ls.doing(opStart, c)
	if err := req.h.Start(ctx, nil, c.shutdown(ls.remaining(req.ctx))); err != nil {
		s.forget(c)
		return nil, s.stoppedDuring(ls, req.ctx, err)
	}
	return c, nil
}

// stoppedDuring returns err, the error of a start a request asked for
// (its ctx: ctx), saying that the supervisor's Stop cut it short
// (ErrNotRunning) when that is why it failed: the start's ctx then ended
// with context.Canceled though the caller's ctx is alive.
func (s *Supervisor) stoppedDuring(ls *loopState, ctx context.Context, err error) error {
	if ls.ctx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w (it began to stop during the start): %w", ErrNotRunning, err)
	}
	return err
}

// answerAdd answers an add of c with err. If its caller gave up waiting
// first, its Add returned ctx's error, which says the child was not added:
// a child added all the same is taken back (stopped if it runs, forgotten,
// detached).
func (s *Supervisor) answerAdd(ls *loopState, req *request, c *child, err error) {
	if !s.answer(req, err) && err == nil && c != nil {
		s.takeBack(ls, c)
	}
}

// takeBack undoes the add of c, which its caller is told failed: the
// child is stopped if it runs, forgotten and detached (its current
// instance: a Replacement may have replaced the one added). A child gone
// already (removed meanwhile) was detached by whoever removed it: its
// service may have been added again since.
func (s *Supervisor) takeBack(ls *loopState, c *child) {
	if c.is(flagGone) {
		return
	}
	_ = s.stopChild(ls, c, ls.quiet)
	s.forget(c)
}

// restartByHand performs a RestartChild or a child's own Restart and
// answers it. A restart whose start fails leaves the child down: a child
// that was terminated stays terminated (as OTP's restart_child leaves it);
// any other is not left down unsupervised: its failed start is its crash,
// which the strategy handles (counted, restarted per its restart type),
// once the caller has its answer.
func (s *Supervisor) restartByHand(ls *loopState, req *request) {
	c := req.c
	terminated := c.is(flagTerminated)
	err := s.manualRestart(ls, c, req.ctx)
	if err != nil && terminated && !c.is(flagGone) {
		s.mu.Lock()
		c.set(flagTerminated, true)
		s.mu.Unlock()
	}
	s.answer(req, err)
	if err != nil && !terminated && !ls.halted() {
		if svc, _ := c.current(); svc.State() != service.Running {
			s.applyExit(ls, c, err, false)
		}
	}
}

// manualRestart restarts c at once, outside the intensity limit: it is no
// longer terminated nor waiting out a backoff.
func (s *Supervisor) manualRestart(ls *loopState, c *child, ctx context.Context) error {
	s.mu.Lock()
	c.set(flagTerminated, false)
	s.mu.Unlock()
	s.unwait(c)
	ls.doing(opRestart, c)
	octx, release := s.opCtx(ls, ctx)
	defer release()
	var err error
	if c.spec.Replacement != nil {
		err = s.replace(ls, c, octx)
	} else {
		_, h := c.current()
		var stopErr error
		stopErr, err = h.Restart(seam.WithMark(ctx, &s.owner, false), octx, nil, c.shutdown(ls.remaining(ctx)))
		s.reportStopErr(c, stopErr)
	}
	if err != nil {
		return s.stoppedDuring(ls, ctx, err)
	}
	s.restarted(c)
	return nil
}
