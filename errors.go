package mode

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by Worker.Run, matched with errors.Is. Every
// configuration error matches ErrBadConfig as well as its own sentinel, and
// ExitCode maps it to ExitBadConfig.
var (
	// ErrBadConfig: the Worker cannot run as configured (no Service,
	// options that contradict each other, a log level or log file that
	// cannot be used, a negative StopTimeout, a second Run).
	ErrBadConfig = errors.New("mode: bad Worker configuration")
	// ErrNoService: Worker.Service is nil or a typed nil pointer.
	ErrNoService = fmt.Errorf("%w: no Service", ErrBadConfig)
	// ErrConflictingOptions: Worker options that contradict each other
	// (Logger together with LogLevel or LogFile, one signal both in Signals
	// and DumpSignals).
	ErrConflictingOptions = fmt.Errorf("%w: conflicting options", ErrBadConfig)
	// ErrRunTwice: Run (or Execute) called on a Worker that has already
	// run or is running. A Worker runs its tree once.
	ErrRunTwice = fmt.Errorf("%w: Worker already ran", ErrBadConfig)
	// ErrNilExtension: a nil entry (or typed nil pointer) in
	// Worker.Extensions.
	ErrNilExtension = fmt.Errorf("%w: nil Extension", ErrBadConfig)
	// ErrForcedExit: a second stop signal arrived while the tree was still
	// stopping (or rolling back its start); Run returned at once. The
	// error names what was still running, abandoned by the exit.
	ErrForcedExit = errors.New("mode: forced exit on a second signal")
)
