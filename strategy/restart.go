package strategy

import "fmt"

// RestartType says which exits of a child are followed by a restart (OTP's
// restart option). The zero value is Permanent.
type RestartType int

const (
	// Permanent children are always restarted, even after a normal exit.
	// It is the zero value and the default.
	Permanent RestartType = iota
	// Transient children are restarted only after a crash; after a normal
	// exit their spec is kept, so they can be restarted by ID.
	Transient
	// Temporary children are never restarted; their spec is removed when
	// they end or are stopped as bystanders of a group restart.
	Temporary
)

// String returns "permanent", "transient" or "temporary", or
// "RestartType(n)" for an unknown value.
func (t RestartType) String() string {
	switch t {
	case Permanent:
		return "permanent"
	case Transient:
		return "transient"
	case Temporary:
		return "temporary"
	}
	return fmt.Sprintf("RestartType(%d)", int(t))
}

// Valid reports whether t is one of the defined restart types.
func (t RestartType) Valid() bool {
	return t >= Permanent && t <= Temporary
}

// ExitKind classifies how a child's run ended.
type ExitKind int

const (
	// Normal is an exit without error: the child ended on its own without
	// error, or was stopped by someone other than its supervisor.
	Normal ExitKind = iota
	// Crash is an exit with an error or a panic.
	Crash
)

// String returns "normal" or "crash", or "ExitKind(n)" for an unknown
// value.
func (k ExitKind) String() string {
	switch k {
	case Normal:
		return "normal"
	case Crash:
		return "crash"
	}
	return fmt.Sprintf("ExitKind(%d)", int(k))
}

// Valid reports whether k is Normal or Crash.
func (k ExitKind) Valid() bool {
	return k == Normal || k == Crash
}

// ShouldRestart reports whether a child of type t that exited with kind k
// is restarted: Permanent always, Transient only after a Crash, Temporary
// never. Unknown values give false.
func ShouldRestart(t RestartType, k ExitKind) bool {
	if !k.Valid() {
		return false
	}
	switch t {
	case Permanent:
		return true
	case Transient:
		return k == Crash
	}
	return false
}
