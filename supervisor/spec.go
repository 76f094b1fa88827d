package supervisor

import (
	"fmt"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
)

// AutoShutdown says when a supervisor stops itself because significant
// children have ended (OTP 24's auto_shutdown).
type AutoShutdown int

const (
	// NeverShutdown (the default) ignores significance.
	NeverShutdown AutoShutdown = iota
	// AnySignificant stops the supervisor normally as soon as any
	// significant child has ended on its own, for good: as in OTP, a
	// Transient child by exiting normally (a crash restarts it), a
	// Temporary child by exiting or crashing (it is never restarted).
	AnySignificant
	// AllSignificant stops it once every significant child has ended so.
	AllSignificant
)

// String names the mode as OTP does.
func (a AutoShutdown) String() string {
	switch a {
	case NeverShutdown:
		return "never"
	case AnySignificant:
		return "any_significant"
	case AllSignificant:
		return "all_significant"
	}
	return fmt.Sprintf("AutoShutdown(%d)", int(a))
}

// Spec configures a Supervisor. It is a plain struct; its zero value means
// every default: one-for-one, at most 3 restarts in 5 seconds, no backoff,
// no cap on children, no auto-shutdown, panics recovered into crashes.
// Zero always means the default and a negative value is ErrBadSpec.
type Spec struct {
	// Service is the supervisor's own service configuration (name, logger,
	// stop timeout, clock).
	Service service.Config
	// Strategy decides which children restart together. Default OneForOne.
	Strategy strategy.Strategy
	// MaxRestarts restarts are allowed within Window (sliding; a group
	// restart counts once, each failed start attempt once more). A restart
	// is counted when the exit that calls for it is handled, before the
	// stops it needs (as OTP's add_restart); a failed attempt when it
	// fails. The restart that would exceed it is refused: the supervisor
	// stops its children and crashes with ErrMaxRestarts. Defaults: 3 in
	// 5s.
	MaxRestarts int
	// Window is the intensity window. Default 5s.
	Window time.Duration
	// NeverRestart makes a supervisor that restarts nothing: the first
	// exit that would restart a child makes it give up (Python mode's
	// CrashingSupervisor). It conflicts with MaxRestarts and Window.
	NeverRestart bool
	// Backoff delays restarts (zero: immediate). See strategy.Backoff.
	// Its delays run on the clock of package time, which a
	// testing/synctest bubble fakes: test them without sleeping (see the
	// package doc, Backoff).
	Backoff strategy.Backoff
	// MaxChildren caps the number of children (0: no cap); Add beyond it
	// returns ErrMaxChildren (Elixir DynamicSupervisor's max_children).
	MaxChildren int
	// AutoShutdown: when significant children ending stops the supervisor.
	AutoShutdown AutoShutdown
	// ShutdownTimeout is the default per-child shutdown timeout (OTP's
	// shutdown): how long a child's stop may take when the supervisor stops
	// it, within what remains of the supervisor's budget. Default:
	// DefaultChildShutdown (5s), and what remains for a child that is
	// itself a supervisor.
	ShutdownTimeout time.Duration
	// StopTogether cancels the children together when several stop at
	// once (the supervisor's Stop, a group restart's stops, a rollback,
	// giving up at the limit): each one's state becomes Stopping and its
	// run's ctx is cancelled, all in one pass in reverse start order; then
	// each one's stop runs the rest of its steps (OnStop, its children,
	// joining its tasks, OnShutdown), one after another in reverse start
	// order, each within its shutdown timeout, counted from when its steps
	// begin. Their tasks then return in parallel, as suture's services do,
	// instead of one after another. Default false: OTP's order, where a
	// child is not cancelled before the children added after it have
	// stopped. Use it for many children that do not depend on each other
	// (connection handlers, workers): it trades that order for a faster
	// stop.
	StopTogether bool
	// PassThroughPanics lets panics in children's tasks and hooks crash the
	// program instead of becoming crash reasons (for debugging).
	PassThroughPanics bool
	// OnEvent, if set, receives every Event, on the supervisor's goroutine
	// (or, while it does not run, on the goroutine of the Remove or
	// Terminate that removed a child, once that request is done). It should
	// not block; a call back into the supervisor is queued (see Add); a
	// panic crashes the supervisor.
	OnEvent func(Event)
}

// intensity is the strategy package's view of the limit.
func (s *Spec) intensity() strategy.Intensity {
	return strategy.Intensity{MaxRestarts: s.MaxRestarts, Window: s.Window, Never: s.NeverRestart}
}

// Validate reports whether the spec is usable: ErrBadSpec for negative
// values or a bad backoff, strategy.ErrUnknownStrategy, ErrConflictingOptions.
// Service's own check (service.Config.Validate) is made too: its error
// matches ErrBadSpec and service.ErrBadArgument, which is what Start
// reports for it, as for any service.
func (s Spec) Validate() error {
	if !s.Strategy.Valid() {
		return fmt.Errorf("%w: %d", strategy.ErrUnknownStrategy, int(s.Strategy))
	}
	if err := s.intensity().Validate(); err != nil {
		return err
	}
	if err := s.Backoff.Validate(); err != nil {
		return err
	}
	switch {
	case s.MaxChildren < 0:
		return fmt.Errorf("%w: negative MaxChildren %d", ErrBadSpec, s.MaxChildren)
	case s.ShutdownTimeout < 0:
		return fmt.Errorf("%w: negative ShutdownTimeout %v", ErrBadSpec, s.ShutdownTimeout)
	case s.AutoShutdown < NeverShutdown || s.AutoShutdown > AllSignificant:
		return fmt.Errorf("%w: unknown AutoShutdown %d", ErrBadSpec, int(s.AutoShutdown))
	}
	if err := s.Service.Validate(); err != nil {
		return fmt.Errorf("%w: Service: %w", ErrBadSpec, err)
	}
	return nil
}

// ChildSpec configures one child (OTP's child spec). Its zero value is a
// Permanent child with a generated ID.
type ChildSpec struct {
	// ID names the child, uniquely under its supervisor. Default: the
	// child's configured name (Config.Name, or the name given to
	// service.Func), else its short label plus "#n".
	ID string
	// Restart is Permanent (default), Transient or Temporary.
	Restart strategy.RestartType
	// ShutdownTimeout bounds the child's stop (default: Spec's).
	ShutdownTimeout time.Duration
	// Significant children end the supervisor per Spec.AutoShutdown
	// when they end on their own for good (see AnySignificant); being
	// stopped by Terminate, Remove or the strategy does not count. A
	// Permanent child cannot be significant.
	Significant bool
	// Replacement, if set, builds a fresh service at each restart instead
	// of restarting the old instance (Python mode's replacement). The fresh one
	// takes the old one's ID, position and link; its OnFirstStart runs.
	// It runs on the supervisor's goroutine; a panic or a nil result fails
	// that restart attempt.
	Replacement func() service.Service
}

func (c ChildSpec) validate(auto AutoShutdown) error {
	if !c.Restart.Valid() {
		return fmt.Errorf("%w: %w: %d", ErrBadSpec, strategy.ErrUnknownRestartType, int(c.Restart))
	}
	if c.ShutdownTimeout < 0 {
		return fmt.Errorf("%w: negative child ShutdownTimeout %v", ErrBadSpec, c.ShutdownTimeout)
	}
	if c.Significant && c.Restart == strategy.Permanent {
		return fmt.Errorf("%w: a Permanent child cannot be significant", ErrConflictingOptions)
	}
	if c.Significant && auto == NeverShutdown {
		return fmt.Errorf("%w: significant child without AutoShutdown", ErrConflictingOptions)
	}
	return nil
}
