package supervisor

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
)

// DefaultChildShutdown is a child's shutdown timeout when neither its
// ChildSpec nor the Spec sets one (OTP's 5000 ms for workers). A child
// that is itself a supervisor gets what remains of its parent's budget
// instead (OTP's infinity for supervisors), so its own children's
// timeouts apply.
const DefaultChildShutdown = 5 * time.Second

// child is one child under a supervisor: its spec and bookkeeping. It is
// the child's seam.Supervisor: a crash wakes the supervisor without a
// lookup, and the child's own Stop and Restart reach the supervisor's
// goroutine through it.
type child struct {
	sup  *Supervisor
	spec ChildSpec // spec.ID: the configured ID (the spec's, else the configured name)
	link seam.Link

	// Its ID (see childid.go): &spec.ID, or an automatic ID's text once
	// made; auto and n (set at registration) make an automatic ID.
	idText atomic.Pointer[string]
	auto   *autoLabel
	n      int

	// Guarded by sup.mu (written by the supervisor's goroutine).
	svc        service.Service
	h          seam.Handle
	pending    bool          // an exit is queued
	ended      bool          // significant child ended on its own (owned by the goroutine, sits here to pack)
	flags      atomic.Uint32 // flagNested, flagTerminated, flagGone: written under the lock, read without it (sits here to pack)
	lastReason error         // of the last crash

	// Owned by the supervisor's goroutine.
	handled uint64 // the run whose exit was handled (seam.Exit.Run)
	backoff *strategy.BackoffState
	delay   time.Duration // the backoff before its restart in progress (for the log line)

	restarts atomic.Int64 // restarts of this child ID
}

var _ seam.Supervisor = (*child)(nil)

// A child's flags, read without the lock by the supervisor's goroutine (a
// start and a restart ask both).
const (
	flagNested     uint32 = 1 << iota // svc is a supervisor (set with svc)
	flagTerminated                    // kept down by Terminate
	flagGone                          // no longer a child
)

// is reports whether flag f is set.
func (c *child) is(f uint32) bool { return c.flags.Load()&f != 0 }

// set sets or clears flag f. Written under the supervisor's lock (with svc,
// or by Terminate and a manual restart).
func (c *child) set(f uint32, on bool) {
	if on {
		c.flags.Or(f)
	} else {
		c.flags.And(^f)
	}
}

// Exited queues the child's exit and wakes the supervisor's goroutine: a
// non-blocking send on a one-slot channel, so wakeups are never lost nor
// block the crash path.
func (c *child) Exited() {
	s := c.sup
	s.mu.Lock()
	if !c.pending && !c.is(flagGone) {
		c.pending = true
		s.queue = append(s.queue, item{exit: c})
	}
	w := s.wake
	s.mu.Unlock()
	poke(w)
}

// StopChild is the child's own Stop, routed here. Also when the supervisor
// stops or has crashed first (see handle and run), it returns once the
// child is stopped, with nil or that stop's errors, never ErrNotRunning.
func (c *child) StopChild(ctx context.Context) error {
	return c.sup.submit(ctx, &request{kind: reqStopOwn, c: c})
}

// RestartChild is the child's own Restart, routed here.
func (c *child) RestartChild(ctx context.Context) error {
	return c.sup.submit(ctx, &request{kind: reqRestartOwn, c: c})
}

func (c *child) restartCount() int { return int(c.restarts.Load()) }

// own returns the child's current service and handle without the lock:
// for the supervisor's goroutine only (the holder of a loopState), which is
// the one writer of svc and h.
func (c *child) own() (service.Service, seam.Handle) { return c.svc, c.h }

// current returns the child's current service and handle.
func (c *child) current() (service.Service, seam.Handle) {
	c.sup.mu.Lock()
	defer c.sup.mu.Unlock()
	return c.svc, c.h
}

// shutdown is how long the child's stop may take when the supervisor
// stops it, at most rem (rem < 0: no limit): its spec's timeout, else the
// Spec's, else DefaultChildShutdown; a supervisor child gets rem (with no
// limit, -1: its own stop timeout applies).
func (c *child) shutdown(rem time.Duration) time.Duration {
	d := c.spec.ShutdownTimeout
	if d == 0 {
		d = c.sup.spec.ShutdownTimeout
	}
	if d == 0 {
		if c.is(flagNested) {
			return rem
		}
		d = DefaultChildShutdown
	}
	if rem < 0 {
		return d
	}
	return min(d, rem)
}

// isSupervisor reports whether svc is (or embeds) a Supervisor.
func isSupervisor(svc service.Service) bool {
	_, ok := svc.(interface {
		Machinery(seam.Token) seam.Machinery
	})
	return ok
}

// newChild makes the record of svc and attaches svc under the supervisor
// (in its node and its Base's children). No lock of the supervisor is held:
// the attach takes the services' locks, and so does reading svc's names.
//
// It returns the label an automatic ID is made from, or "" when the child
// has an ID (its spec's, else its configured name).
func (s *Supervisor) newChild(svc service.Service, h seam.Handle, cs ChildSpec) (c *child, auto string, err error) {
	c = &child{sup: s, svc: svc, h: h, spec: cs}
	c.set(flagNested, isSupervisor(svc))
	if c.spec.ID == "" {
		c.spec.ID = configuredName(svc)
	}
	if c.spec.ID == "" {
		auto = h.ShortLabel() // the ID is this plus "#n", given at registration
	}
	if auto == "" {
		c.idText.Store(&c.spec.ID)
	}
	c.link = seam.Link{Sup: c, PassThroughPanics: s.spec.PassThroughPanics}
	if err := s.self().Attach(h, &c.link); err != nil {
		return nil, "", err
	}
	return c, auto, nil
}

// registerLocked gives c its ID (made from auto when not "") and its
// place, last in the start order. s.mu is held; it calls nothing outside
// this package.
func (s *Supervisor) registerLocked(c *child, auto string) error {
	if s.spec.MaxChildren > 0 && len(s.children) >= s.spec.MaxChildren {
		return fmt.Errorf("%w (it has %d)", ErrMaxChildren, len(s.children))
	}
	if err := s.giveIDLocked(c, auto); err != nil {
		return err
	}
	s.children = append(s.children, c)
	return nil
}

// forgetLocked takes c out of the children. s.mu is held.
func (s *Supervisor) forgetLocked(c *child) {
	for i, x := range s.children {
		if x == c {
			s.children = append(s.children[:i:i], s.children[i+1:]...)
			break
		}
	}
	s.dropIDLocked(c)
	c.set(flagGone, true)
}

// configuredName is the name configured on svc (Config.Name, or the name
// given to service.Func), or "".
func configuredName(svc service.Service) string {
	if c, ok := svc.(interface{ Config() service.Config }); ok {
		if name := c.Config().Name; name != "" {
			return name
		}
	}
	if f, ok := svc.(*service.FuncService); ok {
		return f.Name()
	}
	return ""
}

// forget takes c out of the children and detaches its current service
// (c is stopped, or never started), which it returns.
func (s *Supervisor) forget(c *child) service.Service {
	s.mu.Lock()
	s.forgetLocked(c)
	svc, h := c.svc, c.h
	s.mu.Unlock()
	_ = s.self().Detach(h)
	return svc
}

// drop removes c from the children and detaches it (c is stopped); onLoop:
// called on the supervisor's goroutine, which emits ChildRemoved at once.
// Otherwise (a request its caller performs) it returns that event, for
// the caller to emit once the request has ended.
func (s *Supervisor) drop(c *child, onLoop bool) (e Event, later bool) {
	svc := s.forget(c)
	e = Event{Kind: ChildRemoved, Child: c.ID(), Label: svc.Label(), RestartCount: c.restartCount()}
	if !onLoop {
		return e, true
	}
	s.unwait(c) // backoffs belong to the goroutine
	s.emit(e)
	return Event{}, false
}

// isNil reports whether v is nil or a typed nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// panicError is the error of a recovered panic, with its stack.
func panicError(v any) error {
	return &service.PanicError{Value: v, Stack: debug.Stack()}
}
