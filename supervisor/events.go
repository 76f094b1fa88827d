package supervisor

import (
	"fmt"
	"time"
)

// EventKind tells what happened to a child.
type EventKind int

// The kinds of events.
const (
	// ChildCrashed: a child crashed (Reason is the crash reason).
	ChildCrashed EventKind = iota + 1
	// ChildExited: a child ended normally on its own.
	ChildExited
	// ChildRestarted: a child was started again (RestartCount is the
	// ID's count after it).
	ChildRestarted
	// StartFailed: a restart attempt failed to start the child; it is
	// retried under the intensity limit.
	StartFailed
	// BackoffStarted: a restart is delayed by Delay.
	BackoffStarted
	// MaxRestartsExceeded: the supervisor gives up and crashes.
	MaxRestartsExceeded
	// ChildRemoved: a child's spec was dropped (a Temporary child ended,
	// or Remove).
	ChildRemoved
	// StopFailed: stopping a child for its restart reported errors (its
	// OnStop, OnShutdown, closers or late task errors; Reason). They never
	// fail the restart.
	StopFailed
	// RequestFailed: a request that was queued without a caller waiting
	// for it (made from code the supervisor's goroutine was running:
	// a child's hook, OnEvent, a Replacement) failed (Reason).
	RequestFailed
)

var kindNames = map[EventKind]string{
	ChildCrashed: "child crashed", ChildExited: "child exited", ChildRestarted: "child restarted",
	StartFailed: "start failed", BackoffStarted: "backoff started",
	MaxRestartsExceeded: "max restarts exceeded", ChildRemoved: "child removed",
	StopFailed: "stop failed", RequestFailed: "request failed",
}

// String describes the kind.
func (k EventKind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what Spec.OnEvent receives: enough to drive metrics.
type Event struct {
	Kind         EventKind     // what happened
	Supervisor   string        // the supervisor's short label
	Child        string        // the child's ID ("" for MaxRestartsExceeded)
	Label        string        // the child's label
	Reason       error         // crash or failure reason, if any
	RestartCount int           // restarts of this child ID so far
	Delay        time.Duration // BackoffStarted: how long the restart waits; else 0
}

// String renders the event for logs.
func (e Event) String() string {
	s := fmt.Sprintf("%s: %s %s", e.Supervisor, e.Kind, e.Child)
	if e.Reason != nil {
		s += ": " + e.Reason.Error()
	}
	return s
}
