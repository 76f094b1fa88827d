// Package bench measures mode beside suture v4 and beside the bare
// goroutine floor, in the same run. It holds tests and benchmarks only; see
// README.md for the figures and the command.
package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
	"github.com/thejerf/suture/v4"
)

// nop is the disabled logger every mode service in this package uses.
var nop = zerolog.Nop()

// quiet is a service.Config that logs nothing.
func quiet(name string) service.Config {
	return service.Config{Name: name, Logger: &nop}
}

// errCrash is the reason every benchmarked crash carries.
var errCrash = errors.New("bench: crash")

// idle is a service with no hooks, tasks or timers: it holds no goroutine.
type idle struct{ service.Base }

// sutureSpec is a suture spec that does not log and never backs off.
func sutureSpec() suture.Spec {
	return suture.Spec{
		EventHook:        func(suture.Event) {},
		FailureThreshold: 1 << 30,
		FailureDecay:     1,
		FailureBackoff:   time.Nanosecond,
		Timeout:          10 * time.Second,
	}
}

// serveSuture starts sup in the background and returns its stop function,
// which cancels it and waits until Serve has returned.
func serveSuture(sup *suture.Supervisor) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := sup.ServeBackground(ctx)
	return func() error {
		cancel()
		err := <-errc
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
}

// heap is the memory a running program holds: live heap objects plus
// goroutine stacks, after a full collection.
type heap struct {
	bytes      uint64
	goroutines int
}

func measure() heap {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return heap{bytes: m.HeapAlloc + m.StackInuse, goroutines: runtime.NumGoroutine()}
}

// retained builds and starts a tree of n services, measures what it holds
// beyond what was held before it was built (per service: the service
// values themselves and their running state), then stops it.
func retained(b *testing.B, n int, build tree) (bytesPer, goroutinesPer float64) {
	b.Helper()
	before := measure()
	lc := build(b, n)
	if err := lc.start(); err != nil {
		b.Fatal(err)
	}
	if err := lc.verify(true, true); err != nil {
		b.Fatal(err)
	}
	after := measure()
	if err := lc.stop(); err != nil {
		b.Fatal(err)
	}
	if err := lc.verify(false, true); err != nil {
		b.Fatal(err)
	}
	return float64(int64(after.bytes)-int64(before.bytes)) / float64(n),
		float64(after.goroutines-before.goroutines) / float64(n)
}

// sizes returns the tree sizes to run: all of them, or only the smallest
// under -short.
func sizes(all ...int) []int {
	if testing.Short() {
		return all[:1]
	}
	return all
}

func nName(n int) string { return fmt.Sprintf("N=%d", n) }
