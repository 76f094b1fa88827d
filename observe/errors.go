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

	// The errors of the Handler's endpoints, named in their JSON bodies.

	// ErrClosed: the Handler was closed; its page's data and event
	// streams are no longer served.
	ErrClosed = errors.New("observe: handler closed")
	// ErrTooManyStreams: an event stream asked while 8 are already
	// open: each costs the process a snapshot of the tree per update.
	ErrTooManyStreams = errors.New("observe: too many event streams")
	// ErrControlsOff: a control request while Handler.Controls is false.
	ErrControlsOff = errors.New("observe: controls are off")
	// ErrUnauthorized: a control request without the right token, or off
	// loopback while no Token is set, or from another site's page.
	ErrUnauthorized = errors.New("observe: control not authorized")
	// ErrNoService: no service of the tree matches a control's id.
	ErrNoService = errors.New("observe: no such service")
	// ErrAmbiguous: several services of the tree match a control's id.
	ErrAmbiguous = errors.New("observe: id matches several services")
	// ErrNotSupervised: a control names a service that is not the child
	// of a supervisor (the root, or a plain dependency).
	ErrNotSupervised = errors.New("observe: not a supervised child")
	// ErrUnknownAction: a control other than restart or terminate.
	ErrUnknownAction = errors.New("observe: unknown control")
)
