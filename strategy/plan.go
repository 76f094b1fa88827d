package strategy

import "fmt"

// Plan is what a supervisor does about one exit or one failed start. All
// entries are child indices in start order (see the package doc). The
// caller applies it in this order: Stop, then Remove, then Restart.
type Plan struct {
	// Stop lists running children to stop, in the order to stop them
	// (reverse start order). It never holds the child that exited, which
	// has already ended. It may name children that are not running (for
	// instance a Transient child that exited normally earlier); stopping
	// those is a no-op, as in OTP.
	Stop []int
	// Restart lists children to start again, in start order. It holds the
	// exited child when that child is to be restarted.
	Restart []int
	// Remove lists children whose spec is dropped, in ascending order: a
	// Temporary child that ended, or Temporary bystanders that Stop stops.
	Remove []int
	// Counts reports whether the plan counts as one restart toward the
	// intensity limit; it is true exactly when Restart is non-empty.
	Counts bool
}

// Decide returns the plan for the exit of child exited, of kind kind, under
// strategy s, where types holds every child's restart type in start order.
//
// If [ShouldRestart] is false for the exited child, the strategy does not
// fire: siblings are untouched and the plan only removes the child if it
// is Temporary (a Transient child's spec is kept). Otherwise:
//   - OneForOne restarts [exited].
//   - OneForAll stops every other child in reverse start order and restarts
//     all of them in start order, except Temporary bystanders, which are
//     removed.
//   - RestForOne does the same for the children after exited: stops them in
//     reverse order, restarts exited and them in order, removes the
//     Temporary ones among them.
//
// Errors wrap ErrUnknownStrategy, ErrUnknownRestartType (naming the first
// bad index) or ErrBadInput (exited out of range, unknown kind).
func Decide(s Strategy, types []RestartType, exited int, kind ExitKind) (Plan, error) {
	if err := s.check(); err != nil {
		return Plan{}, err
	}
	for i, t := range types {
		if !t.Valid() {
			return Plan{}, fmt.Errorf("%w: child %d has %d", ErrUnknownRestartType, i, int(t))
		}
	}
	if exited < 0 || exited >= len(types) {
		return Plan{}, fmt.Errorf("%w: exited child %d out of range [0,%d)", ErrBadInput, exited, len(types))
	}
	if !kind.Valid() {
		return Plan{}, fmt.Errorf("%w: exit kind %d", ErrBadInput, int(kind))
	}

	if !ShouldRestart(types[exited], kind) {
		if types[exited] == Temporary {
			return Plan{Remove: []int{exited}}, nil
		}
		return Plan{}, nil
	}

	first := exited // first child of the group that is restarted
	switch s {
	case OneForOne:
		return Plan{Restart: []int{exited}, Counts: true}, nil
	case OneForAll:
		first = 0
	}
	var p Plan
	for i := len(types) - 1; i >= first; i-- {
		if i != exited {
			p.Stop = append(p.Stop, i)
		}
	}
	for i := first; i < len(types); i++ {
		if i != exited && types[i] == Temporary {
			p.Remove = append(p.Remove, i)
			continue
		}
		p.Restart = append(p.Restart, i)
	}
	p.Counts = true
	return p, nil
}

// RetryAfterFailedStart returns the plan after the start of child failed
// failed while a restart was starting group, the children being restarted
// in start order (a Plan's Restart). Members of group before failed have
// been started again; those after it have not been started yet.
//
//   - OneForAll: the members already started are stopped again in reverse
//     order and the whole group is retried, so that nothing is left
//     half-started.
//   - RestForOne: the members before failed stay up; the failed child and
//     those after it are retried.
//   - OneForOne: as RestForOne (its groups hold a single child, so this
//     retries just failed).
//
// The plan never removes anything and always counts as one restart: each
// failed start attempt counts toward the intensity limit.
//
// Errors wrap ErrUnknownStrategy, or ErrBadInput when group is empty, not
// strictly ascending, holds a negative index, or does not contain failed.
func RetryAfterFailedStart(s Strategy, group []int, failed int) (Plan, error) {
	if err := s.check(); err != nil {
		return Plan{}, err
	}
	pos := -1
	for i, c := range group {
		if c < 0 || (i > 0 && c <= group[i-1]) {
			return Plan{}, fmt.Errorf("%w: group %v is not ascending child indices", ErrBadInput, group)
		}
		if c == failed {
			pos = i
		}
	}
	if pos < 0 {
		return Plan{}, fmt.Errorf("%w: failed child %d not in group %v", ErrBadInput, failed, group)
	}

	p := Plan{Counts: true}
	if s == OneForAll {
		for i := pos - 1; i >= 0; i-- {
			p.Stop = append(p.Stop, group[i])
		}
		p.Restart = append([]int(nil), group...)
		return p, nil
	}
	p.Restart = append([]int(nil), group[pos:]...)
	return p, nil
}
