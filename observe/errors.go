package observe

import "errors"

// The errors of the handler's endpoints, named in their JSON bodies.
var (
	// ErrClosed: the Handler was closed; its page's data and event
	// streams are no longer served.
	ErrClosed = errors.New("observe: handler closed")
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
