package diag

import "errors"

// Sentinel errors returned (wrapped with context) by this package. Match them
// with errors.Is.
var (
	// ErrNilFunc is returned by Transition when the function to run is nil.
	ErrNilFunc = errors.New("mode: nil transition function")
	// ErrEmptyFlag is returned by Transition when the flag is the empty string.
	ErrEmptyFlag = errors.New("mode: empty diag flag")
)
