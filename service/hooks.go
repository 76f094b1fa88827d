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
// never on a restart.
type OnFirstStarter interface {
	OnFirstStart(ctx context.Context) error
}

// OnStarter is called at every start, before the children start: the place
// to start tasks (Go, Every) for the run.
type OnStarter interface {
	OnStart(ctx context.Context) error
}

// OnStartedHook is called at every start after the children have started.
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

// Dependent returns child services to add at the first start attempt (mode's
// on_init_dependencies). It is called once.
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
)

// hookKinds lists the hooks in bit order (hasDependencies first): the
// name Dump shows and the test for each. The tests are type assertions,
// which the runtime caches per type (reflect's Implements walks the
// method set at every call, 30 times slower for a handover).
var hookKinds = [...]struct {
	name string
	in   func(Service) bool
}{
	{"Dependencies", func(s Service) bool { _, ok := s.(Dependent); return ok }},
	{"OnFirstStart", func(s Service) bool { _, ok := s.(OnFirstStarter); return ok }},
	{"OnStart", func(s Service) bool { _, ok := s.(OnStarter); return ok }},
	{"OnStarted", func(s Service) bool { _, ok := s.(OnStartedHook); return ok }},
	{"OnStop", func(s Service) bool { _, ok := s.(OnStopper); return ok }},
	{"OnShutdown", func(s Service) bool { _, ok := s.(OnShutdowner); return ok }},
	{"OnRestart", func(s Service) bool { _, ok := s.(OnRestarter); return ok }},
	{"Healthcheck", func(s Service) bool { _, ok := s.(Healthchecker); return ok }},
}

// hooksOf finds the hooks s implements.
func hooksOf(s Service) hookSet {
	var h hookSet
	for i, hk := range hookKinds {
		if hk.in(s) {
			h |= 1 << i
		}
	}
	return h
}
