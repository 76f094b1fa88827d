package observe

import "errors"

// The errors of package observe. Functions wrap them once with context:
// test with errors.Is.
var (
	// ErrNotLive is returned by Healthy when the tree has crashed to its
	// root or runs user code abandoned by a Stop, a Start or a health check
	// (a hang).
	ErrNotLive = errors.New("observe: tree not live")
	// ErrNotReady is returned by Report.Err for a failed readiness check:
	// a service is not Running or its Healthcheck failed.
	ErrNotReady = errors.New("observe: tree not ready")
	// ErrNoAddr is returned at StepStarting by a Server whose Addr is
	// empty.
	ErrNoAddr = errors.New("observe: Server.Addr is empty")
	// ErrServing is returned at StepStarting by a Server that is already
	// serving (one Server serves one Worker run at a time).
	ErrServing = errors.New("observe: Server already serving")
	// ErrSystemdInUse is returned by Systemd.WorkerPhase at StepStarting
	// when the Systemd already serves another Worker's run.
	ErrSystemdInUse = errors.New("observe: Systemd already serves a running Worker")
	// ErrAlreadyAttached is returned by Metrics.Attach for a tree that
	// is, or overlaps, one the Metrics is attached to already: its events
	// would be counted twice.
	ErrAlreadyAttached = errors.New("observe: tree already attached")
)
