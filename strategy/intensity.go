package strategy

import (
	"fmt"
	"time"
)

// Defaults applied by Intensity.Normalize to zero fields.
const (
	// DefaultMaxRestarts is the number of restarts allowed within the
	// window when MaxRestarts is zero. (OTP's own default is 1 in 5s; mode
	// documents 3 in 5s.)
	DefaultMaxRestarts = 3
	// DefaultWindow is the sliding window when Window is zero.
	DefaultWindow = 5 * time.Second
)

// Intensity is the restart limit of a supervisor (OTP's intensity and
// period): at most MaxRestarts restarts within any sliding Window.
//
// Zero fields mean the defaults, each on its own: the zero Intensity is
// DefaultMaxRestarts restarts in DefaultWindow, and Intensity{Window:
// time.Minute} is DefaultMaxRestarts restarts in a minute. Since zero means
// the default, "no restart at all" (Python mode's CrashingSupervisor) is the
// explicit Never flag, which must be set alone. Negative values are
// ErrBadSpec.
type Intensity struct {
	// MaxRestarts is the number of restarts allowed within Window; zero
	// means DefaultMaxRestarts.
	MaxRestarts int
	// Window is the length of the sliding window; zero means
	// DefaultWindow.
	Window time.Duration
	// Never forbids every restart: the first restart is refused. It
	// conflicts with a non-zero MaxRestarts or Window.
	Never bool
}

// Validate returns nil for a usable Intensity, an error wrapping ErrBadSpec
// for a negative MaxRestarts or Window, and one wrapping
// ErrConflictingOptions for Never with a non-zero MaxRestarts or Window.
func (in Intensity) Validate() error {
	if in.MaxRestarts < 0 {
		return fmt.Errorf("%w: negative MaxRestarts %d", ErrBadSpec, in.MaxRestarts)
	}
	if in.Window < 0 {
		return fmt.Errorf("%w: negative intensity Window %v", ErrBadSpec, in.Window)
	}
	if in.Never && (in.MaxRestarts != 0 || in.Window != 0) {
		return fmt.Errorf("%w: Never with MaxRestarts %d, Window %v", ErrConflictingOptions, in.MaxRestarts, in.Window)
	}
	return nil
}

// Normalize returns in with its zero fields replaced by the defaults. A
// Never intensity is returned as Intensity{Never: true}. Normalize does not
// validate; call Validate first.
func (in Intensity) Normalize() Intensity {
	if in.Never {
		return Intensity{Never: true}
	}
	if in.MaxRestarts == 0 {
		in.MaxRestarts = DefaultMaxRestarts
	}
	if in.Window == 0 {
		in.Window = DefaultWindow
	}
	return in
}
