package supervisor

import (
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
)

// EventObserver is an optional capability of a service.Observer attached
// (service.Observe) to a supervisor or to a service above it: it also
// hears of the supervisor's events, each after Spec.OnEvent has had it.
//
// SupervisorEvent is called on the supervisor's goroutine (or, for a
// Remove or Terminate made before the supervisor started, on the
// caller's), with no lock held. It must return quickly and must not call
// the supervisor or wait for the tree: hand the event to a channel
// without blocking. A panic in it is recovered and detaches the observer.
type EventObserver interface {
	SupervisorEvent(s *Supervisor, e Event)
}

// observe hands e to the observers attached to s or above it that
// implement EventObserver. While no observer is attached anywhere it
// costs one atomic load.
func (s *Supervisor) observe(e Event) {
	service.EachObserver(seam.Token{}, s, func(o service.Observer) {
		if eo, ok := o.(EventObserver); ok {
			if e.Supervisor == "" {
				e.Supervisor = s.ShortLabel()
			}
			eo.SupervisorEvent(s, e)
		}
	})
}
