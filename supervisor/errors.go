package supervisor

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
)

// Sentinel errors of this package, wrapped with context (which supervisor,
// which child). Match them with errors.Is.
var (
	// ErrMaxRestarts is the crash reason of a supervisor whose restart
	// intensity was exceeded; it wraps the last child's reason.
	ErrMaxRestarts = errors.New("mode: restart intensity exceeded")
	// ErrBadSpec: a negative value or impossible setting in Spec or
	// ChildSpec (the same value as strategy.ErrBadSpec).
	ErrBadSpec = strategy.ErrBadSpec
	// ErrConflictingOptions: settings that contradict each other (the same
	// value as strategy.ErrConflictingOptions).
	ErrConflictingOptions = strategy.ErrConflictingOptions
	// ErrNilChild: Add or Remove of a nil service (it matches
	// service.ErrNilService too).
	ErrNilChild = service.ErrNilService
	// ErrDuplicateID: a child spec's ID (or configured name) already used
	// under this supervisor.
	ErrDuplicateID = errors.New("mode: duplicate child ID")
	// ErrNoChild: no child with that ID or value under this supervisor.
	ErrNoChild = errors.New("mode: no such child")
	// ErrMaxChildren: Add beyond Spec.MaxChildren.
	ErrMaxChildren = errors.New("mode: too many children")
	// ErrNotRunning: a child operation on a supervisor that is stopping or
	// has crashed (or, for a restart, does not run). A child's own Stop
	// never returns it: the child is stopped all the same.
	ErrNotRunning = errors.New("mode: supervisor not running")
	// ErrChildRunning: RestartChild of a child that runs (OTP's
	// {error, running}).
	ErrChildRunning = errors.New("mode: child is running")
)

// maxRestartsError is the crash reason of a supervisor that gave up: it
// matches ErrMaxRestarts and wraps the reason of the last failure. Its text
// names the supervisor, the limit, and the reason, prefixed with the
// child's ID unless the reason names it already:
// "workers: restart intensity exceeded (3 in 5s): pool: ...".
type maxRestartsError struct {
	sup, child string
	in         strategy.Intensity // normalized
	reason     error
}

func (e *maxRestartsError) Error() string {
	var b strings.Builder
	b.WriteString(e.sup)
	b.WriteString(": restart intensity exceeded")
	if e.in.Never {
		b.WriteString(" (no restarts allowed)")
	} else {
		b.WriteString(" (" + strconv.Itoa(e.in.MaxRestarts) + " in " + e.in.Window.String() + ")")
	}
	if e.reason == nil {
		return b.String()
	}
	b.WriteString(": ")
	r := e.reason.Error()
	if e.child != "" && !strings.HasPrefix(r, e.child+": ") {
		b.WriteString(e.child + ": ")
	}
	b.WriteString(r)
	return b.String()
}

// Is makes errors.Is(err, ErrMaxRestarts) true.
func (e *maxRestartsError) Is(target error) bool { return target == ErrMaxRestarts }

// Unwrap returns the reason of the last failure.
func (e *maxRestartsError) Unwrap() error { return e.reason }
