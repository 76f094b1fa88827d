package strategy

import "errors"

var (
	// ErrUnknownStrategy is returned for a Strategy value outside
	// OneForOne, OneForAll and RestForOne.
	ErrUnknownStrategy = errors.New("mode: unknown restart strategy")

	// ErrUnknownRestartType is returned for a RestartType value outside
	// Permanent, Transient and Temporary.
	ErrUnknownRestartType = errors.New("mode: unknown restart type")

	// ErrBadInput is returned when the arguments of a decision do not
	// describe a possible situation: an index out of range, an unknown
	// ExitKind, a group that is not in ascending start order, a failed
	// child outside its group.
	ErrBadInput = errors.New("mode: bad input to restart decision")

	// ErrBadSpec is returned for a negative or otherwise impossible
	// Intensity or Backoff setting.
	ErrBadSpec = errors.New("mode: bad spec")

	// ErrConflictingOptions is returned for settings that contradict each
	// other, such as Intensity.Never with a non-zero MaxRestarts.
	ErrConflictingOptions = errors.New("mode: conflicting options")
)
