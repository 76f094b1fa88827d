package supervisor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/rs/zerolog"
)

// item is one entry of the supervisor's queue: a child's exit, a request,
// or a backoff that ended.
type item struct {
	exit *child
	req  *request
	due  *waitGroup
}

type reqKind uint8

const (
	reqAdd         reqKind = iota // Add
	reqRemove                     // Remove
	reqTerminate                  // Terminate
	reqRestartByID                // RestartChild
	reqStopOwn                    // the child's own Stop
	reqRestartOwn                 // the child's own Restart
)

var reqNames = [...]string{"add", "remove", "terminate", "restart", "stop", "restart"}

// request is a child operation asked of the supervisor's goroutine.
type request struct {
	kind reqKind
	c    *child // the child concerned (not for reqAdd)
	ctx  context.Context

	// reqAdd:
	svc  service.Service
	h    seam.Handle
	spec ChildSpec
	run  uint64 // of a child registered already (c): its run number then

	reply chan error    // nil when nobody waits (queued from inside)
	state atomic.Uint32 // reqWaiting, reqAnswered or reqDropped: who had the last word

	// removed is the ChildRemoved event of a request its caller performs
	// (see direct), emitted once the request has ended.
	removed *Event
}

// A waited-for request's state (request.state): the caller gives up
// (reqDropped) or the goroutine answers (reqAnswered), whichever swaps
// first; the other side then knows what the caller was told.
const (
	reqWaiting uint32 = iota
	reqAnswered
	reqDropped
)

func (r *request) name() string {
	id := ""
	if r.c != nil {
		id = r.c.ID()
	} else if r.svc != nil {
		id = r.svc.ShortLabel()
	}
	return reqNames[r.kind] + " " + id
}

// fail wraps err, the failure of r on s: "sup: add api: <err>", or, when
// err comes from the child's own start or stop and so opens with its
// label, "sup: add: <err>" (the child names itself).
func (r *request) fail(s *Supervisor, err error) error {
	svc := r.svc
	if r.c != nil {
		svc, _ = r.c.current()
	}
	if svc != nil && strings.HasPrefix(err.Error(), svc.Label()+": ") {
		return fmt.Errorf("%s: %s: %w", s.ShortLabel(), reqNames[r.kind], err)
	}
	return fmt.Errorf("%s: %s: %w", s.ShortLabel(), r.name(), err)
}

// submit hands req to the supervisor's goroutine and waits for the answer
// under ctx, or, when the goroutine does not run, performs it here. A
// request from code the goroutine is running right now (ctx carrying the
// supervisor's mark, or a callback called on that goroutine) or from
// inside the child concerned cannot be waited for: it is queued and submit
// returns nil.
func (s *Supervisor) submit(ctx context.Context, req *request) error {
	if ctx == nil {
		ctx = context.Background()
	}
	req.ctx = ctx
	// A callback (OnEvent, a Replacement) on the goroutine of this
	// supervisor, or on that of a supervisor in the child concerned (whose
	// stop would wait for it), cannot be waited for.
	cb := seam.CallbackNode()
	queued := cb != nil && cb == s.Node() || seam.Marked(ctx, &s.owner)
	if c := req.c; c != nil && !queued {
		// From inside the child concerned, or from a callback of a
		// supervisor in it: that child's stop would wait for the caller.
		svc, h := c.current()
		queued = seam.Under(cb, svc.Node()) || h.Inside(ctx)
	}
	s.mu.Lock()
	if s.loop == nil {
		// The goroutine does not run: the caller performs req, and the
		// goroutine's start waits for it (see machinery.Start).
		s.directs++
		s.mu.Unlock()
		err := func() error {
			defer s.directDone()
			return s.direct(req)
		}()
		if req.removed != nil {
			// Only now, the request ended: OnEvent may start the
			// supervisor, whose start waits for such requests to end.
			s.emit(*req.removed)
		}
		return err
	}
	if queued {
		req.ctx = context.WithoutCancel(ctx)
	} else {
		req.reply = make(chan error, 1)
	}
	s.queue = append(s.queue, item{req: req})
	w := s.wake
	s.mu.Unlock()
	poke(w)
	if queued {
		return nil
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		if !req.state.CompareAndSwap(reqWaiting, reqDropped) {
			// Answered meanwhile: the goroutine sends right after its
			// swap, and the caller learns what was done.
			return <-req.reply
		}
		return fmt.Errorf("%s: %s: %w", s.ShortLabel(), req.name(), ctx.Err())
	}
}

// answer replies to req's caller, or, when nobody waits, logs a failure
// and reports it as a RequestFailed event. It reports false when the
// caller had given up waiting (it returned its ctx's error) before the
// answer: it is told nothing.
func (s *Supervisor) answer(req *request, err error) bool {
	if err != nil {
		err = req.fail(s, err)
	}
	if req.reply != nil {
		if !req.state.CompareAndSwap(reqWaiting, reqAnswered) {
			return false
		}
		req.reply <- err
		return true
	}
	if err != nil {
		id := ""
		if req.c != nil {
			id = req.c.ID()
		}
		logline.Err(func() *zerolog.Event { return s.Log().Warn().Str("child", id) }, err, "queued request failed")
		s.emit(Event{Kind: RequestFailed, Child: id, Reason: err})
	}
	return true
}

// directDone ends a request performed by its caller (see submit).
func (s *Supervisor) directDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.directs--
	if s.directs == 0 && s.directsIdle != nil {
		close(s.directsIdle)
		s.directsIdle = nil
	}
}

// direct performs req on the caller's goroutine: the supervisor's
// goroutine does not run (before the supervisor starts its children, or
// once it has stopped them).
func (s *Supervisor) direct(req *request) error {
	var err error
	switch req.kind {
	case reqAdd:
		if req.c != nil { // registered, the goroutine gone meanwhile: it starts with the supervisor
			return nil
		}
		if done, err := s.addDirect(req.ctx, req.svc, req.h, req.spec); done {
			return err
		}
		return s.submit(req.ctx, req) // the goroutine started meanwhile
	case reqRemove, reqTerminate:
		_, h := req.c.current()
		err = s.takeDown(req, false, func() error { return h.Stop(req.ctx, req.c.shutdown(budgetOf(req.ctx))) })
	case reqStopOwn:
		return seam.ErrDirect
	default:
		err = fmt.Errorf("%w (state %s)", ErrNotRunning, s.State())
	}
	if err != nil {
		return req.fail(s, err)
	}
	return nil
}

// addDirect adds a child while the supervisor's goroutine does not run
// (it starts with the supervisor), and reports whether it did so (else the
// goroutine must add it). If the goroutine started meanwhile, after it
// read its children, the child is handed to it to start.
func (s *Supervisor) addDirect(ctx context.Context, svc service.Service, h seam.Handle, cs ChildSpec) (bool, error) {
	fail := func(err error) (bool, error) {
		return true, fmt.Errorf("%s: add %s: %w", s.ShortLabel(), svc.ShortLabel(), err)
	}
	st := s.State()
	s.mu.Lock()
	running := s.loop != nil
	s.mu.Unlock()
	if running {
		return false, nil
	}
	if st == service.Stopping || st == service.Crashed {
		return fail(fmt.Errorf("%w (state %s)", ErrNotRunning, st))
	}
	c, auto, err := s.newChild(svc, h, cs)
	if err != nil {
		return fail(err)
	}
	run := h.Exit().Run // before the goroutine can see the child
	s.mu.Lock()
	err = s.registerLocked(c, auto)
	late := s.loop != nil
	s.mu.Unlock()
	if err != nil {
		_ = s.self().Detach(h)
		return fail(err)
	}
	if late {
		return true, s.submit(ctx, &request{kind: reqAdd, c: c, svc: svc, h: h, run: run})
	}
	return true, nil
}

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
