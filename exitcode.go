package mode

import "errors"

// Exit codes of Worker.Execute, ExecuteContext and Main, and of ExitCode
// applied to Run's error. The package doc has the table and the systemd
// settings that go with it.
const (
	// ExitOK: the tree stopped on request (a stop signal, ctx ended) or
	// ended normally, and its stop finished within its budget. A start
	// cancelled by a stop signal and rolled back cleanly is a requested
	// stop too.
	ExitOK = 0
	// ExitFailure: the tree crashed (a crash reached the root, the root
	// supervisor gave up, or a Restart of the root left it down), or its stop returned an error other than a
	// timeout. It is also what ExitCode gives for an error Run did not
	// classify (one made by the caller).
	ExitFailure = 1
	// ExitStartFailed: the tree's start failed on its own (no stop was
	// requested); it was rolled back within its budget. BSD sysexits' EX_UNAVAILABLE
	// (systemd shows 69/UNAVAILABLE).
	ExitStartFailed = 69
	// ExitBadConfig: the Worker could not run as configured (ErrBadConfig:
	// no Service, conflicting options, a bad log level or log file, a
	// second Run); nothing was started. BSD sysexits' EX_CONFIG (systemd
	// shows 78/CONFIG).
	ExitBadConfig = 78
	// ExitStopTimeout: the stop, or the rollback of a start (cancelled
	// or failed), did not finish within its budget: code that did not
	// return was abandoned, named in the error and the log. It wins over
	// ExitFailure when a crashed tree then stops too slowly, and over
	// ExitStartFailed when a failed start's rollback does.
	ExitStopTimeout = 80
	// ExitForced: a second stop signal during the stop (or the rollback
	// of a cancelled start) made the process exit at once
	// (ErrForcedExit); what was still running is printed and abandoned.
	// It wins over every other code.
	ExitForced = 81
)

// ExitCode maps an error returned by Worker.Run to the exit code Execute
// returns for it: ExitOK for nil, the code Run attached to its error
// (ExitStartFailed, ExitStopTimeout, ExitForced, ExitFailure), else
// ExitBadConfig for ErrBadConfig, ExitForced for ErrForcedExit, and
// ExitFailure for any other error. Wrapping Run's error keeps its code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	switch {
	case errors.Is(err, ErrBadConfig):
		return ExitBadConfig
	case errors.Is(err, ErrForcedExit):
		return ExitForced
	}
	return ExitFailure
}

// exitError is an error of Run tagged with its exit code. It adds nothing
// to the message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode tags err (not nil) with an exit code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }
