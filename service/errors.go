package service

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"

	"github.com/gomode/mode/graph"
)

// Sentinel errors returned (wrapped with the service's label and more
// context) by this package. Match them with errors.Is.
var (
	// ErrNilService: a nil Service (or a typed nil pointer) was handed over.
	ErrNilService = errors.New("mode: nil service")
	// ErrAlreadyStarted: Start on a service that is not in state Init.
	ErrAlreadyStarted = errors.New("mode: service already started")
	// ErrNotStarted: an operation that needs a run (Go, Defer, Restart...)
	// on a service that has none.
	ErrNotStarted = errors.New("mode: service not started")
	// ErrStopping: a task, timer or closer registered on a run that is
	// stopping or has crashed.
	ErrStopping = errors.New("mode: service is stopping")
	// ErrStopped is the cause of a run's context cancelled by Stop, and the
	// error Sleep and Await return when the service stops.
	ErrStopped = errors.New("mode: service stopped")
	// ErrAlreadyAdded: the same child added twice to one parent.
	ErrAlreadyAdded = errors.New("mode: child already added")
	// ErrAddedInOnStart: a child added (AddDependency, AddRuntimeDependency,
	// a supervisor's Add) from OnStart or OnStarted of the parent or of one
	// of its ancestors. These hooks run at every start and children stay
	// attached across restarts, so the first restart would add it again;
	// add children once: before Start, in Dependencies() or in
	// OnFirstStart.
	ErrAddedInOnStart = errors.New("mode: child added in OnStart or OnStarted, which run again at each restart; add it in OnFirstStart or Dependencies()")
	// ErrHasParent: the child already belongs to another parent.
	ErrHasParent = graph.ErrHasParent
	// ErrCycle: the child is the parent itself or one of its ancestors.
	ErrCycle = graph.ErrCycle
	// ErrNotChild: RemoveDependency of a service that is not a child.
	ErrNotChild = errors.New("mode: not a child of this service")
	// ErrRunning: AddDependency on a parent past its children step (use
	// AddRuntimeDependency).
	ErrRunning = errors.New("mode: parent is running; use AddRuntimeDependency")
	// ErrTwoOwners: one Base handed over under two different outer values.
	ErrTwoOwners = errors.New("mode: Base handed over under two different values")
	// ErrStopTimeout: Stop's budget ran out; the error lists each task
	// that did not return.
	ErrStopTimeout = errors.New("mode: stop timed out")
	// ErrShutdownTimeout: the wait for SetShutdown ran out.
	ErrShutdownTimeout = errors.New("mode: timed out waiting for SetShutdown")
	// ErrNilReason is the reason recorded by Crash(nil).
	ErrNilReason = errors.New("mode: crashed with a nil reason")
	// ErrBadArgument: a nil function, an empty name or a non-positive
	// duration.
	ErrBadArgument = errors.New("mode: bad argument")
	// ErrPanic matches every *PanicError.
	ErrPanic = errors.New("mode: panic")
	// ErrBadCronSpec: an empty or malformed cron spec, a bad CRON_TZ= zone
	// or a spec that never fires; the parser's error is wrapped.
	ErrBadCronSpec = errors.New("mode: bad cron spec")
	// ErrConflictingOptions: options that contradict each other (a
	// CRON_TZ= prefix together with In, In on a timer that is not a Cron).
	ErrConflictingOptions = errors.New("mode: conflicting options")
	// ErrUnhealthy is the crash reason (wrapping the healthcheck's error)
	// of a service whose Healthcheck failed under monitoring.
	ErrUnhealthy = errors.New("mode: service unhealthy")
	// ErrNotRunning: CheckHealth of a service that is not Running.
	ErrNotRunning = errors.New("mode: service not running")
	// ErrHung is the crash reason of a service that did not call Heartbeat
	// within Config.HeartbeatDeadline; the message names its diag flags.
	ErrHung = errors.New("mode: service hung")
)

// PanicError is the crash reason made from a recovered panic. It carries
// the panic value and the stack of the goroutine that panicked.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // debug.Stack() of the panicking goroutine, at the recover
}

func newPanicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// Error describes the panic value, not the stack: the crash's log line
// carries the stack (see Logging in the package doc), and Stack has it.
func (p *PanicError) Error() string { return fmt.Sprintf("mode: panic: %v", p.Value) }

// Is makes errors.Is(err, ErrPanic) true.
func (p *PanicError) Is(target error) bool { return target == ErrPanic }

// Unwrap returns the panic value when it is an error.
func (p *PanicError) Unwrap() error {
	if err, ok := p.Value.(error); ok {
		return err
	}
	return nil
}

// errorf wraps sentinel with context: "<sentinel>: <context>".
func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// taskError says which task or Func an error came from. Its message is
// formatted only when read, so the crash path stays cheap.
type taskError struct {
	name   string
	err    error
	isTask bool // a task of the service ("task \"name\": ..."), not a Func's function
}

func (e *taskError) Error() string {
	if !e.isTask {
		return e.name + ": " + e.err.Error()
	}
	return "task " + strconv.Quote(e.name) + ": " + e.err.Error()
}

func (e *taskError) Unwrap() error { return e.err }
