package supervisor

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
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
