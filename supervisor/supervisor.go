package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
)

// Supervisor is a service whose children are restarted when they crash or
// exit, per its Spec. It is itself a Service, so supervisors nest. Its zero
// value is usable (all defaults); New sets a Spec. It runs one goroutine
// while running, whatever its number of children.
//
// A Supervisor must not be copied after first use.
type Supervisor struct {
	service.Base
	spec Spec

	ops sync.Mutex // serializes child operations: the loop's, Add's, Remove's...

	mu       sync.Mutex // guards the fields below
	children []*child   // in start order
	ids      map[string]*child
	seq      map[string]int
	pending  []*child
	due      [][]*child // backoff groups whose delay is over
	timers   map[*pendingTimer]struct{}
	wake     chan struct{}
	loopDone chan struct{}

	spare []*child // the pending list's other buffer

	// Owned by the loop goroutine (and the start of a run).
	loopCtx  context.Context
	detached context.Context // loopCtx without its cancellation
	window   *strategy.Window
	now      func() time.Time // the clock of this run, for intervals
	one      [1]*child        // decide's one-for-one plan
	backoff  *strategy.BackoffState
	rnd      *rand.Rand
}

// child is one child under a supervisor: its spec and bookkeeping. It is
// the Link's Supervisor, so a crash wakes the supervisor without a lookup.
type child struct {
	sup        *Supervisor
	id         string
	svc        service.Service
	spec       ChildSpec
	link       *seam.Link
	terminated atomic.Bool  // kept down by Terminate
	pending    bool         // guarded by sup.mu
	gone       bool         // no longer a child (unregistered); guarded by sup.mu
	ended      bool         // significant child ended on its own
	restarts   atomic.Int64 // restarts of this child ID
	lastReason error
}

func (c *child) Notify(any) { c.sup.notify(c) }

func (c *child) restartCount() int { return int(c.restarts.Load()) }

// New returns a supervisor configured by spec. An invalid spec is reported
// by Start (and by spec.Validate).
func New(spec Spec) *Supervisor {
	s := &Supervisor{spec: spec}
	s.Configure(spec.Service)
	return s
}

// Spec returns the supervisor's spec.
func (s *Supervisor) Spec() Spec { return s.spec }

func (s *Supervisor) supervisor() *Supervisor { return s }

func init() {
	seam.Finder = func(owner any) seam.Machinery {
		if h, ok := owner.(interface{ supervisor() *Supervisor }); ok {
			return machinery{h.supervisor()}
		}
		return nil
	}
}

// Add adds child under the supervisor with an optional child spec (zero:
// Permanent, generated ID). Before the supervisor runs, the child starts
// with it; while it runs, Add starts the child at once and returns its
// start error (the child is then not added).
//
// Add returns ErrNilChild, ErrBadSpec or ErrConflictingOptions for a bad
// child spec (or more than one), ErrDuplicateID, ErrMaxChildren,
// service.ErrHasParent for a child with another parent, service.ErrCycle,
// service.ErrAlreadyAdded, and ErrNotRunning while the supervisor stops.
// Add waits for the supervisor's current child operation, if any.
func (s *Supervisor) Add(svc service.Service, spec ...ChildSpec) error {
	if svc == nil {
		return fmt.Errorf("%s: add: %w", s.Label(), ErrNilChild)
	}
	var cs ChildSpec
	switch len(spec) {
	case 0:
	case 1:
		cs = spec[0]
	default:
		return fmt.Errorf("%s: add %s: %w: %d child specs", s.Label(), svc.Label(), ErrBadSpec, len(spec))
	}
	if err := seam.Ops.Adopt(svc); err != nil {
		return fmt.Errorf("%s: add: %w", s.Label(), err)
	}
	if err := cs.validate(s.spec.AutoShutdown); err != nil {
		return fmt.Errorf("%s: add %s: %w", s.Label(), svc.Label(), err)
	}
	s.ops.Lock()
	defer s.ops.Unlock()
	c, err := s.register(svc, cs)
	if err != nil {
		return err
	}
	err = seam.Ops.Attach(s, svc, c.link, false)
	if errors.Is(err, service.ErrRunning) && s.State() == service.Running {
		if err = seam.Ops.Attach(s, svc, c.link, true); err == nil {
			err = seam.Ops.Restart(context.Background(), svc, false)
			if err != nil {
				_ = seam.Ops.Detach(s, svc)
			} else if s.State() != service.Running {
				_ = seam.Ops.Stop(context.Background(), svc) // the supervisor stopped meanwhile
			}
		}
	} else if errors.Is(err, service.ErrRunning) {
		err = fmt.Errorf("%w: %s: %w", ErrNotRunning, s.Label(), err)
	}
	if err != nil {
		s.unregister(c)
		return fmt.Errorf("%s: add: %w", s.Label(), err)
	}
	return nil
}

// register reserves an ID and a place for svc.
func (s *Supervisor) register(svc service.Service, cs ChildSpec) (*child, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spec.MaxChildren > 0 && len(s.children) >= s.spec.MaxChildren {
		return nil, fmt.Errorf("%w: %s has %d", ErrMaxChildren, s.Label(), len(s.children))
	}
	if s.ids == nil {
		s.ids = make(map[string]*child)
	}
	id := cs.ID
	if id == "" {
		if n := configuredName(svc); n != "" {
			id = n
		}
	}
	if id != "" {
		if _, dup := s.ids[id]; dup {
			return nil, fmt.Errorf("%w: %q under %s", ErrDuplicateID, id, s.Label())
		}
	} else {
		if s.seq == nil {
			s.seq = make(map[string]int)
		}
		label := svc.ShortLabel()
		for id == "" || s.ids[id] != nil {
			s.seq[label]++
			id = label + "#" + strconv.Itoa(s.seq[label])
		}
	}
	c := &child{sup: s, id: id, svc: svc, spec: cs}
	c.link = &seam.Link{Sup: c, ShutdownTimeout: cs.ShutdownTimeout, PassThroughPanics: s.spec.PassThroughPanics}
	if c.link.ShutdownTimeout == 0 {
		c.link.ShutdownTimeout = s.spec.ShutdownTimeout
	}
	s.children = append(s.children, c)
	s.ids[id] = c
	return c, nil
}

// configuredName is the name configured on svc (Config.Name, or the name
// given to service.Func), or "".
func configuredName(svc service.Service) string {
	if c, ok := svc.(interface{ Config() service.Config }); ok && c.Config().Name != "" {
		return c.Config().Name
	}
	if f, ok := svc.(*service.FuncService); ok {
		return f.Name()
	}
	return ""
}

// unregister forgets c.
func (s *Supervisor) unregister(c *child) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.children {
		if x == c {
			s.children = append(s.children[:i:i], s.children[i+1:]...)
			break
		}
	}
	if s.ids[c.id] == c {
		delete(s.ids, c.id)
	}
	c.gone = true
}

// AddDependency is Add with the default child spec, so that a Supervisor
// handed children by AddDependency or Dependencies() supervises them.
func (s *Supervisor) AddDependency(svc service.Service) error { return s.Add(svc) }

// RemoveDependency is Remove.
func (s *Supervisor) RemoveDependency(ctx context.Context, svc service.Service) error {
	return s.Remove(ctx, svc)
}

// Remove stops svc (bounded by ctx and its shutdown timeout) and removes it
// and its spec. It returns ErrNilChild, ErrNoChild if svc is not a child,
// else the child's stop error (it is removed either way). Called from
// inside svc's own tasks or hooks, it returns at once and finishes on the
// supervisor's own goroutine.
func (s *Supervisor) Remove(ctx context.Context, svc service.Service) error {
	if svc == nil {
		return fmt.Errorf("%s: remove: %w", s.Label(), ErrNilChild)
	}
	c := s.find(func(c *child) bool { return c.svc == svc })
	if c == nil {
		return fmt.Errorf("%w: %s under %s", ErrNoChild, svc.Label(), s.Label())
	}
	return s.childOp(ctx, c, "remove", func(ctx context.Context) error {
		err := seam.Ops.Stop(ctx, c.svc)
		s.drop(c)
		return err
	})
}

// Terminate stops the child with this ID and keeps it down (OTP's
// terminate_child): the strategy does not restart it until RestartChild.
// A Temporary child's spec is removed. It returns ErrNoChild or the
// child's stop error. From inside the child it returns at once.
func (s *Supervisor) Terminate(ctx context.Context, id string) error {
	c := s.find(func(c *child) bool { return c.id == id })
	if c == nil {
		return fmt.Errorf("%w: %q under %s", ErrNoChild, id, s.Label())
	}
	return s.childOp(ctx, c, "terminate", func(ctx context.Context) error {
		c.terminated.Store(true)
		err := seam.Ops.Stop(ctx, c.svc)
		if c.spec.Restart == strategy.Temporary {
			s.drop(c)
		}
		return err
	})
}

// RestartChild stops (if running) and starts again the child with this ID
// (OTP's restart_child, also for a terminated child). It is a manual
// restart: not counted toward the intensity limit. It returns ErrNoChild,
// ErrNotRunning when the supervisor is not running, or the child's stop or
// start error. From inside the child it returns at once.
func (s *Supervisor) RestartChild(ctx context.Context, id string) error {
	c := s.find(func(c *child) bool { return c.id == id })
	if c == nil {
		return fmt.Errorf("%w: %q under %s", ErrNoChild, id, s.Label())
	}
	if st := s.State(); st != service.Running {
		return fmt.Errorf("%w: %s (state %s)", ErrNotRunning, s.Label(), st)
	}
	return s.childOp(ctx, c, "restart", func(ctx context.Context) error {
		c.terminated.Store(false)
		if err := seam.Ops.Restart(ctx, c.svc, false); err != nil {
			return err
		}
		c.restarts.Add(1)
		return nil
	})
}

// childOp runs op serialized with the supervisor's other child operations,
// or, when ctx belongs to the child itself, on a task of the supervisor.
func (s *Supervisor) childOp(ctx context.Context, c *child, what string, op func(context.Context) error) error {
	if seam.Ops.Inside(ctx, c.svc) {
		octx := context.WithoutCancel(ctx)
		return s.Go(what+" "+c.id, func(context.Context) error {
			s.ops.Lock()
			defer s.ops.Unlock()
			if err := op(octx); err != nil {
				s.Log().Warn().Err(err).Str("child", c.id).Msg(what)
			}
			return nil
		})
	}
	s.ops.Lock()
	defer s.ops.Unlock()
	if err := op(ctx); err != nil {
		return fmt.Errorf("%s: %s %q: %w", s.Label(), what, c.id, err)
	}
	return nil
}

// drop removes c from the children and detaches it.
func (s *Supervisor) drop(c *child) {
	s.unregister(c)
	_ = seam.Ops.Detach(s, c.svc)
	s.emit(Event{Kind: ChildRemoved, Child: c.id, Label: c.svc.Label(), RestartCount: c.restartCount()})
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

// ChildInfo is a snapshot of one child.
type ChildInfo struct {
	ID           string
	Label        string
	State        service.State
	RestartCount int // restarts of this ID under this supervisor
	LastReason   error
	Restart      strategy.RestartType
	Terminated   bool
}

// Children returns a snapshot of the children in start order. It does not
// wait for the supervisor's goroutine.
func (s *Supervisor) Children() []ChildInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ChildInfo, len(s.children))
	for i, c := range s.children {
		out[i] = ChildInfo{
			ID: c.id, Label: c.svc.Label(), State: c.svc.State(), RestartCount: c.restartCount(),
			LastReason: c.lastReason, Restart: c.spec.Restart, Terminated: c.terminated.Load(),
		}
	}
	return out
}

// Child returns the service currently under ID id, or nil.
func (s *Supervisor) Child(id string) service.Service {
	if c := s.find(func(c *child) bool { return c.id == id }); c != nil {
		return c.svc
	}
	return nil
}

// emit sends e to Spec.OnEvent, filling the supervisor's label.
func (s *Supervisor) emit(e Event) {
	if s.spec.OnEvent == nil {
		return
	}
	e.Supervisor = s.ShortLabel()
	s.spec.OnEvent(e)
}

// clock is the supervisor's clock (Spec.Service.Clock, else the real one).
func (s *Supervisor) clock() clock.Clock { return clock.Or(s.Config().Clock) }
