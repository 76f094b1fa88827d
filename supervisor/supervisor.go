package supervisor

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/rs/zerolog"
)

// Supervisor is a service whose children are restarted when they crash or
// exit, per its Spec. It is itself a Service, so supervisors nest. Its zero
// value is usable (all defaults); New sets a Spec. It runs one goroutine
// while running, whatever its number of children, and every change to a
// child happens on that goroutine (see the package doc, Ownership).
//
// A Supervisor must not be copied after first use.
type Supervisor struct {
	service.Base
	spec  Spec
	backs bool                       // spec.Backoff.Enabled(), asked at every exit
	owner seam.Owner                 // names this supervisor's goroutine in ctx marks
	named atomic.Pointer[seam.Named] // its goroutine, named in the seam while one runs

	mu          sync.Mutex            // guards the fields below; never held while user code runs
	children    []*child              // in start order
	ids         map[string]*child     // configured IDs (see childid.go)
	autoLike    int                   // configured IDs of the form label#n
	seq         map[string]*autoLabel // automatic IDs' labels
	queue       []item                // exits, requests and ended backoffs, in order of arrival
	spare       []item                // the queue's other buffer (see drain)
	wake        chan struct{}
	loop        *loopState    // the running goroutine's state, nil when none runs
	directs     int           // requests their callers perform while no goroutine runs
	directsIdle chan struct{} // closed when directs drops to 0 (made by a waiter)
	stale       *loopState    // a goroutine abandoned by Stop, maybe still running

	// Owned by the goroutine (and by Machinery.Start before it runs);
	// window and waiting change under mu, so that a dump reads them.
	window  *strategy.Window
	now     func() time.Time
	rnd     *rand.Rand
	waiting []*waitGroup // restarts waiting out a backoff
	one     [1]*child    // decide's one-for-one plan
}

// New returns a supervisor configured by spec. An invalid spec is reported
// by Start (and by spec.Validate).
func New(spec Spec) *Supervisor {
	s := &Supervisor{spec: spec, backs: spec.Backoff.Enabled()}
	s.Configure(spec.Service)
	return s
}

// Spec returns the supervisor's spec. Its Service field is the
// supervisor's current service configuration (Config): the one New set,
// or a later Configure's.
func (s *Supervisor) Spec() Spec {
	sp := s.spec
	sp.Service = s.Config()
	return sp
}

// Machinery is how package service runs the supervisor besides its hooks.
// It is for that package only: its argument cannot be made elsewhere.
func (s *Supervisor) Machinery(seam.Token) seam.Machinery { return machinery{s} }

// self is the engine's handle on the supervisor's own Base.
func (s *Supervisor) self() seam.Handle { return service.BaseEngine(seam.Token{}, &s.Base) }

// Add adds svc under the supervisor with an optional child spec (zero:
// Permanent, generated ID). Before the supervisor runs, the child is only
// registered: it starts with the supervisor. While the supervisor runs,
// its goroutine adds the child and starts it, with ctx bounding the start
// (its start hooks get ctx's cancellation); Add waits for that under ctx
// and returns the start's error (the child is then not added). An error
// always means the child was not added: when ctx ends after the child's
// start succeeded but before Add could return, Add returns ctx's error
// and the supervisor takes the child back (stops it and removes it, no
// ChildRemoved event), so that it can be added again.
//
// Called from code the supervisor's goroutine is running right now (a
// child's hook during a start, stop or restart it performs, OnEvent, a
// Replacement), Add cannot wait for that goroutine: it checks its
// arguments, queues the request and returns nil at once; the child is
// added right after the current operation, and a failure is logged and
// reported as a RequestFailed event.
//
// Add returns ErrNilChild for a nil svc (a typed nil pointer included),
// ErrBadSpec or ErrConflictingOptions for a bad child spec (or more than
// one), ErrDuplicateID, ErrMaxChildren, service.ErrHasParent for a child
// with another parent, service.ErrCycle, service.ErrAlreadyAdded,
// service.ErrTwoOwners, service.ErrAddedInOnStart when called from
// OnStart or OnStarted of the supervisor or of one of its ancestors (add
// children once, in OnFirstStart or before Start: they stay attached
// across restarts), ErrNotRunning while the supervisor stops or has
// crashed (or begins to stop during the child's start: the error then
// also wraps the start's, which matches context.Canceled when the child's
// start hooks return their ctx's error), the start's error, or
// ctx's error. When ctx ends during the
// child's start, the error matches it (errors.Is(err,
// context.DeadlineExceeded) when its deadline passed).
func (s *Supervisor) Add(ctx context.Context, svc service.Service, spec ...ChildSpec) error {
	var cs ChildSpec
	switch len(spec) {
	case 0:
	case 1:
		cs = spec[0]
	default:
		return fmt.Errorf("%s: add: %w: %d child specs", s.Label(), ErrBadSpec, len(spec))
	}
	h, err := service.Engine(seam.Token{}, svc)
	if err != nil {
		return fmt.Errorf("%s: add: %w", s.Label(), err)
	}
	if err := cs.validate(s.spec.AutoShutdown); err != nil {
		return fmt.Errorf("%s: add %s: %w", s.Label(), svc.ShortLabel(), err)
	}
	if err := s.self().FromStartHook(h); err != nil {
		return fmt.Errorf("%s: add: %w", s.Label(), err) // err names svc
	}
	if done, err := s.addDirect(ctx, svc, h, cs); done {
		return err
	}
	return s.submit(ctx, &request{kind: reqAdd, svc: svc, h: h, spec: cs})
}

// AddDependency is Add with the default child spec and no ctx, so that a
// Supervisor handed children by AddDependency or Dependencies()
// supervises them.
func (s *Supervisor) AddDependency(svc service.Service) error {
	return s.Add(context.Background(), svc)
}

// AddRuntimeDependency is Add with the default child spec.
func (s *Supervisor) AddRuntimeDependency(ctx context.Context, svc service.Service) error {
	return s.Add(ctx, svc)
}

// RemoveDependency is Remove.
func (s *Supervisor) RemoveDependency(ctx context.Context, svc service.Service) error {
	return s.Remove(ctx, svc)
}

// Remove stops svc (bounded by ctx and its shutdown timeout) and removes it
// and its spec. It returns ErrNilChild, ErrNoChild if svc is not a child,
// else the child's stop error (it is removed either way). Like every
// child operation it runs on the supervisor's goroutine; from inside svc
// or from code that goroutine runs right now, it is queued and returns
// nil at once (see Add).
func (s *Supervisor) Remove(ctx context.Context, svc service.Service) error {
	if isNil(svc) {
		return fmt.Errorf("%s: remove: %w", s.Label(), ErrNilChild)
	}
	c := s.find(func(c *child) bool { return c.svc == svc })
	if c == nil {
		return fmt.Errorf("%w: %s under %s", ErrNoChild, svc.ShortLabel(), s.Label())
	}
	return s.submit(ctx, &request{kind: reqRemove, c: c})
}

// Terminate stops the child with this ID and keeps it down (OTP's
// terminate_child): the strategy does not restart it until RestartChild
// (or its own Restart). A Temporary child's spec is removed. It returns
// ErrNoChild or the child's stop error; queued as Remove.
func (s *Supervisor) Terminate(ctx context.Context, id string) error {
	c := s.byID(id)
	if c == nil {
		return fmt.Errorf("%w: %q under %s", ErrNoChild, id, s.Label())
	}
	return s.submit(ctx, &request{kind: reqTerminate, c: c})
}

// ShortLabel is Base.ShortLabel, except that a supervisor not yet handed
// over (started, or added to a parent) calls itself "Supervisor" (or its
// Config.Name), not "Base": its Base does not know yet the value it is
// part of (a type of the user's may embed the Supervisor).
func (s *Supervisor) ShortLabel() string {
	if s.Node().Value() == nil {
		if name := s.Config().Name; name != "" {
			return name
		}
		return "Supervisor"
	}
	return s.Base.ShortLabel()
}

// Label is Base.Label, except that a supervisor not yet handed over is
// "Supervisor" or "Supervisor(<Config.Name>)" (see ShortLabel).
func (s *Supervisor) Label() string {
	if s.Node().Value() == nil {
		if name := s.Config().Name; name != "" && name != "Supervisor" {
			return "Supervisor(" + name + ")"
		}
		return "Supervisor"
	}
	return s.Base.Label()
}

// RestartByID restarts the child with this ID whatever its state: a
// running child as by its own Restart, any other as RestartChild. It is
// for package observe of this module (its first argument cannot be made
// elsewhere), whose restart control must not look the child up and then
// call its Restart: a Remove in between would leave that Restart starting
// a service no longer in the tree. The request holds the child's record,
// so a child removed meanwhile is ErrNoChild. It returns what RestartChild
// returns, except ErrChildRunning.
func (s *Supervisor) RestartByID(_ seam.Token, ctx context.Context, id string) error {
	c := s.byID(id)
	if c == nil {
		return fmt.Errorf("%w: %q under %s", ErrNoChild, id, s.Label())
	}
	return s.submit(ctx, &request{kind: reqRestartOwn, c: c})
}

// RestartChild starts again the child with this ID when it is not running:
// terminated, or stopped and waiting out a backoff (OTP's restart_child).
// It is a manual restart: not counted toward the intensity limit. It
// returns ErrNoChild, ErrChildRunning for a child that runs (OTP's
// {error, running}: use the child's own Restart), ErrNotRunning when the
// supervisor is not running (or began to stop during the start), or the
// child's start error; queued as Remove. When the start fails, a
// terminated child stays terminated (as OTP's restart_child leaves it);
// any other child's failed start is its crash, which the strategy handles
// as any crash (counted, restarted per its restart type). The same holds
// for a child's own Restart.
func (s *Supervisor) RestartChild(ctx context.Context, id string) error {
	c := s.byID(id)
	if c == nil {
		return fmt.Errorf("%w: %q under %s", ErrNoChild, id, s.Label())
	}
	return s.submit(ctx, &request{kind: reqRestartByID, c: c})
}

func (s *Supervisor) find(match func(*child) bool) *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.children {
		if match(c) {
			return c
		}
	}
	return nil
}

// ChildInfo is a snapshot of one child. Label and State are read from the
// service after the supervisor's own fields: a child changing state while
// the snapshot is taken may show its new State beside the older
// RestartCount.
type ChildInfo struct {
	// ID names the child under this supervisor (ChildSpec.ID, or the
	// default it was given).
	ID string
	// Service is the service under ID when the snapshot was taken (after
	// a Replacement, the fresh one), as Child(ID) returns it.
	Service service.Service
	// Label is the service's short label (Service.Label()).
	Label string
	// State is the service's state (Service.State()).
	State        service.State
	RestartCount int // restarts of this ID under this supervisor
	// LastReason is the last crash the supervisor recorded for this
	// child, kept after it was restarted; nil if it never crashed.
	LastReason error
	// Restart is the child's restart type (ChildSpec.Restart).
	Restart strategy.RestartType
	// Terminated: Terminate keeps the child down until RestartChild.
	Terminated bool
}

// Children returns a snapshot of the children in start order. It does not
// wait for the supervisor's goroutine.
func (s *Supervisor) Children() []ChildInfo {
	s.mu.Lock()
	out := make([]ChildInfo, len(s.children))
	for i, c := range s.children {
		out[i] = ChildInfo{
			ID: c.ID(), Service: c.svc, RestartCount: c.restartCount(),
			LastReason: c.lastReason, Restart: c.spec.Restart, Terminated: c.is(flagTerminated),
		}
	}
	s.mu.Unlock()
	for i := range out { // the services' own locks: outside the supervisor's
		out[i].Label, out[i].State = out[i].Service.Label(), out[i].Service.State()
	}
	return out
}

// Child returns the service currently under ID id (after a Replacement,
// the fresh one), or nil.
func (s *Supervisor) Child(id string) service.Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byIDLocked(id); c != nil {
		return c.svc
	}
	return nil
}

// logs reports whether the supervisor writes lines at lvl: the restart
// path makes a line's fields only then.
func (s *Supervisor) logs(lvl zerolog.Level) bool {
	return service.LogEnabled(seam.Token{}, &s.Base, lvl)
}

// listened reports whether an event would reach anyone (Spec.OnEvent, an
// observer): the restart path builds its events only then.
func (s *Supervisor) listened() bool {
	return s.spec.OnEvent != nil || service.Observed(seam.Token{})
}

// emit sends e to Spec.OnEvent, filling the supervisor's label. OnEvent is
// user code: it runs with no lock held, a call it makes back into the
// supervisor is queued (see Add), and a panic in it crashes the
// supervisor.
func (s *Supervisor) emit(e Event) {
	if s.spec.OnEvent != nil {
		e.Supervisor = s.ShortLabel()
		if perr := s.callback(func() { s.spec.OnEvent(e) }); perr != nil {
			s.Crash(fmt.Errorf("OnEvent: %w", perr))
		}
	}
	s.observe(e)
}

// callback runs user code given to the supervisor (OnEvent, a
// Replacement) and returns its panic as an error, unless panics pass
// through.
func (s *Supervisor) callback(fn func()) (perr error) {
	// Named in the seam under the supervisor's goroutine while one runs
	// (to its very end): callbacks run on it, but for the events of the
	// caller's own Remove or Terminate before the supervisor starts, when
	// naming it does no harm.
	if nm := s.named.Load(); nm != nil {
		defer nm.Enter().Exit()
	}
	if !s.spec.PassThroughPanics {
		defer func() {
			if v := recover(); v != nil {
				perr = panicError(v)
			}
		}()
	}
	fn()
	return nil
}

// clock is the supervisor's clock (Spec.Service.Clock, else the real one).
func (s *Supervisor) clock() clock.Clock { return clock.Or(s.Config().Clock) }
