package strategy

import "fmt"

// Strategy says which children a supervisor restarts when one of them
// exits and is to be restarted. The zero value is OneForOne.
type Strategy int

const (
	// OneForOne restarts only the child that exited. It is the zero value
	// and the default.
	OneForOne Strategy = iota
	// OneForAll stops every other child (reverse start order) and restarts
	// all of them (start order).
	OneForAll
	// RestForOne stops the children started after the one that exited
	// (reverse start order) and restarts it and them (start order).
	RestForOne
)

// String returns "one_for_one", "one_for_all" or "rest_for_one" (the OTP
// spelling), or "Strategy(n)" for an unknown value.
func (s Strategy) String() string {
	switch s {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return fmt.Sprintf("Strategy(%d)", int(s))
}

// Valid reports whether s is one of the defined strategies.
func (s Strategy) Valid() bool {
	return s >= OneForOne && s <= RestForOne
}

// check returns a wrapped ErrUnknownStrategy for an invalid s.
func (s Strategy) check() error {
	if !s.Valid() {
		return fmt.Errorf("%w: %d", ErrUnknownStrategy, int(s))
	}
	return nil
}
