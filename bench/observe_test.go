package bench

import (
	"sync/atomic"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// BenchmarkRestartObserved measures what observers (service.Observe) cost
// a restart, side by side in one run:
//
//   - unobserved: no observer attached anywhere (a state change costs one
//     atomic load);
//   - observer-elsewhere: an observer attached to another tree (each
//     state change walks up its tree to find none);
//   - observed: a counting observer (state changes and supervisor events)
//     attached to the supervisor: what the cheapest real observer costs.
//
// With -benchmem, the unobserved and observer-elsewhere variants must
// show the same allocations per restart: no allocation per event while
// nobody observes.
func BenchmarkRestartObserved(b *testing.B) {
	b.Run("unobserved", func(b *testing.B) { benchModeRestart(b, false, nil) })
	b.Run("observer-elsewhere", func(b *testing.B) {
		benchModeRestart(b, false, func(b *testing.B, _ *supervisor.Supervisor) func() {
			other := service.Func("other", nil)
			detach, err := service.Observe(other, &countingObserver{})
			if err != nil {
				b.Fatal(err)
			}
			return detach
		})
	})
	b.Run("observed", func(b *testing.B) {
		benchModeRestart(b, false, func(b *testing.B, sup *supervisor.Supervisor) func() {
			o := &countingObserver{}
			detach, err := service.Observe(sup, o)
			if err != nil {
				b.Fatal(err)
			}
			return func() {
				detach()
				if o.events.Load() < int64(b.N) {
					b.Fatalf("observer heard %d events for %d restarts", o.events.Load(), b.N)
				}
			}
		})
	})
}

// countingObserver counts what it hears.
type countingObserver struct{ changes, events atomic.Int64 }

func (o *countingObserver) StateChanged(service.Service, service.State, service.State) {
	o.changes.Add(1)
}

func (o *countingObserver) SupervisorEvent(*supervisor.Supervisor, supervisor.Event) {
	o.events.Add(1)
}
