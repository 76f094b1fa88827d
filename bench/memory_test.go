package bench

import (
	"testing"
)

const idleSize = 10_000

// BenchmarkIdleMemory measures what an idle supervised service holds while
// it runs: the heap and stack bytes retained after a full collection (the
// service values themselves and their running state) and the goroutines,
// per service, for 10,000 children. Each iteration builds, starts,
// measures and stops one tree. The time per op is not a figure of merit.
//
//   - mode-supervisor: 10,000 idle service.Base children under
//     supervisor.New.
//   - mode: 10,000 idle Base children under a plain Base root.
//   - suture: 10,000 services blocking on their context under a suture v4
//     supervisor (one goroutine each, by design).
//   - floor: 10,000 goroutines blocking on a context.
func BenchmarkIdleMemory(b *testing.B) {
	b.Run("mode-supervisor/"+nName(idleSize), func(b *testing.B) { runIdleMemory(b, modeSupervisorTree(false)) })
	b.Run("mode/"+nName(idleSize), func(b *testing.B) { runIdleMemory(b, modeTree) })
	b.Run("suture/"+nName(idleSize), func(b *testing.B) { runIdleMemory(b, sutureServices) })
	b.Run("floor/"+nName(idleSize), func(b *testing.B) { runIdleMemory(b, floorGoroutines) })
}

func runIdleMemory(b *testing.B, build tree) {
	var bytes, goroutines float64
	for range b.N {
		bp, gp := retained(b, idleSize, build)
		bytes += bp
		goroutines += gp
	}
	b.ReportMetric(bytes/float64(b.N), "B/service")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/service")
}
