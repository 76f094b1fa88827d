package service

import "context"

// The optional hooks. Each is a one-method interface found by type assertion
// on the value handed to the runtime (service.Start, AddDependency, a
// supervisor's Add). Names follow one rule: the method name plus "er"
// (OnStarted, already past tense, takes "Hook").
//
// Start hooks (OnFirstStart, OnStart, OnStarted) get the run context: it is
// cancelled when the service stops or crashes, and an error or panic fails
// the start, which is then rolled back. Stop hooks (OnStop, OnShutdown) and
// OnRestart get a context that is not cancelled by the stop, carries the
// Stop caller's values and ends with the stop budget; their errors are
// joined into Stop's (or Restart's) error.

// OnFirstStarter is called at each start attempt until it once returns nil;
// never on a restart. It is the place to add children: they stay attached
// across restarts. When it fails, the children it added are detached
// again (not stopped), so that the next attempt can add them again.
type OnFirstStarter interface {
	OnFirstStart(ctx context.Context) error
}

// OnStarter is called at every start, before the children start: the place
// to start tasks (Go, Every) for the run. Not the place to add children
// (as Python mode's on_start does with add_dependency): they stay attached
// across restarts, so add them once, in OnFirstStart or Dependencies();
// adding one from OnStart fails the start with ErrAddedInOnStart.
type OnStarter interface {
	OnStart(ctx context.Context) error
}

// OnStartedHook is called at every start after the children have started.
// Like OnStart, not the place to add children (Python mode's
// add_runtime_dependency in on_started): adding one fails the start with
// ErrAddedInOnStart.
type OnStartedHook interface {
	OnStarted(ctx context.Context) error
}

// OnStopper is called first when the service stops, before its children stop.
type OnStopper interface {
	OnStop(ctx context.Context) error
}

// OnShutdowner is called last when the service stops, after its tasks have
// returned and its exit stack has run.
type OnShutdowner interface {
	OnShutdown(ctx context.Context) error
}

// OnRestarter is called on restart, after the stop and the reset, before the
// new start; parents before children.
type OnRestarter interface {
	OnRestart(ctx context.Context) error
}

// Dependent returns child services to add at the first start attempt (Python mode's
// on_init_dependencies). It is called once; a panic in it fails that start
// (a *PanicError), and the next attempt calls it again.
type Dependent interface {
	Dependencies() []Service
}

// Healthchecker reports whether a running service is healthy. Under
// monitoring, an error crashes the service with ErrUnhealthy.
type Healthchecker interface {
	Healthcheck(ctx context.Context) error
}

// hookSet records which hooks a service's handed-over value implements.
// A value's type never changes, so it is found once, at handover (adopt),
// and every start, stop and restart tests a bit instead of asserting.
type hookSet uint16

const (
	hasDependencies hookSet = 1 << iota
	hasOnFirstStart
	hasOnStart
	hasOnStarted
	hasOnStop
	hasOnShutdown
	hasOnRestart
	hasHealthcheck
	// Not a hook (Dump lists hookLabels only): the value has a
	// supervisor's machinery (machineryOf), which starts and stops its
	// children.
	hasMachinery
)

// hookLabels names the hooks in bit order (hasDependencies first), as Dump
// shows them.
var hookLabels = [...]string{
	"Dependencies", "OnFirstStart", "OnStart", "OnStarted",
	"OnStop", "OnShutdown", "OnRestart", "Healthcheck",
}

// hooksOf returns the hooks s implements, found once per type (infoOf).
func hooksOf(s Service) hookSet { return infoOf(s).hooks }

// findHooks finds the hooks s implements, with plain type assertions.
func findHooks(s Service) hookSet {
	var h hookSet
	if _, ok := s.(Dependent); ok {
		h |= hasDependencies
	}
	if _, ok := s.(OnFirstStarter); ok {
		h |= hasOnFirstStart
	}
	if _, ok := s.(OnStarter); ok {
		h |= hasOnStart
	}
	if _, ok := s.(OnStartedHook); ok {
		h |= hasOnStarted
	}
	if _, ok := s.(OnStopper); ok {
		h |= hasOnStop
	}
	if _, ok := s.(OnShutdowner); ok {
		h |= hasOnShutdown
	}
	if _, ok := s.(OnRestarter); ok {
		h |= hasOnRestart
	}
	if _, ok := s.(Healthchecker); ok {
		h |= hasHealthcheck
	}
	if machineryOf(s) != nil {
		h |= hasMachinery
	}
	return h
}

// callHook calls a hook with ctx, turning a panic into a *PanicError unless
// the service is linked to a supervisor that passes panics through.
func (b *Base) callHook(ctx context.Context, fn func(context.Context) error) (err error) {
	if l := b.link.Load(); l != nil && l.PassThroughPanics {
		return fn(ctx)
	}
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	return fn(ctx)
}
