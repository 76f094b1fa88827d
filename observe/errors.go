package observe

import "errors"

// The errors of package observe. Functions wrap them once with context:
// test with errors.Is.
var (
	// ErrAlreadyAttached is returned by Metrics.Attach for a tree that
	// is, or overlaps, one the Metrics is attached to already: its events
	// would be counted twice.
	ErrAlreadyAttached = errors.New("observe: tree already attached")
)
