// Package seam is the private contract between package service and package
// supervisor. Users never import it.
//
// Package service owns the lifecycle engine; package supervisor needs a few
// operations on it that are not part of the public API (stopping a child
// without reporting an exit, attaching a child with a link back to its
// supervisor, ...). Package service fills [Ops] in its init function;
// package supervisor registers a [Finder] so that the engine can find the
// supervisor machinery inside any user value that embeds a Supervisor.
package seam

import (
	"context"
	"time"
)

// Supervisor is what a directly supervised child reports to. Notify must not
// block: it marks the child pending and wakes the supervisor's goroutine.
type Supervisor interface {
	Notify(child any)
}

// Link ties a child to the supervisor directly above it. It is immutable
// once stored; a new Link replaces the old one.
type Link struct {
	Sup Supervisor
	// ShutdownTimeout bounds the child's stop when its parent stops it
	// (0: the child's own stop timeout).
	ShutdownTimeout time.Duration
	// PassThroughPanics lets panics in the child's tasks and hooks
	// propagate instead of becoming crashes.
	PassThroughPanics bool
}

// Machinery is run by the engine besides the user's hooks: Start after
// OnStart and before the children start, Stop after OnStop and before the
// children stop. Start may register tasks on the run.
type Machinery interface {
	StartMachinery(ctx context.Context) error
	StopMachinery(ctx context.Context)
}

// Finder returns the machinery hidden in owner, or nil. Set once by package
// supervisor's init.
var Finder func(owner any) Machinery

// Ops are the engine operations package supervisor uses. Every child is a
// service.Service passed as any (this package cannot import service).
var Ops struct {
	// Adopt hands s over to the runtime (records its outer value).
	Adopt func(s any) error
	// Attach appends child to parent's children (handover included) and
	// stores link on the child. Errors as AddDependency's, minus the
	// "parent running" check when running is true.
	Attach func(parent, child any, link *Link, running bool) error
	// Detach removes child from parent's children (it must be stopped).
	Detach func(parent, child any) error
	// Replace puts fresh in old's place among parent's children, in the
	// node graph too, with old's link.
	Replace func(parent, old, fresh any) error
	// Stop stops child as its supervisor: the stop is not reported back.
	Stop func(ctx context.Context, child any) error
	// Restart is Stop, reset (RestartCount+1 through the subtree),
	// OnRestart, Start; from Init it is a plain Start. It fails with
	// ErrStopTimeout, the child stopped, while a task of the old run is
	// alive. With hold, a restarted Func's function is not launched until
	// Launch: the supervisor does its bookkeeping first, so the function
	// does not wait for it.
	Restart func(ctx context.Context, child any, hold bool) error
	// Launch launches the function Restart held, if any (once).
	Launch func(child any)
	// Hung reports whether a task of a previous run of child or of one of
	// its descendants is still alive.
	Hung func(child any) bool
	// Inside reports whether ctx is the ctx of a task or hook of target or
	// of one of its descendants.
	Inside func(ctx context.Context, target any) bool
	// Exited reports how the child's current run ended: ok is false while
	// it runs (or never ran); crash is nil for a normal exit; final marks a
	// normal exit after which the child must not be started again.
	Exited func(child any) (crash error, final bool, ok bool)
}
