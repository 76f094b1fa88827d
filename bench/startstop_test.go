package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/thejerf/suture/v4"
)

// BenchmarkStartStop starts and stops a tree of N idle leaves; each
// iteration is one start and one stop, and ns/service divides it by N.
// Building the tree (allocating the services, adding them) is timed apart
// and reported as build-ns/service and build-allocB/service.
//
//   - mode: a root service.Base with N Base children (no tasks): Start
//     returns once every child runs, Stop once every child has stopped.
//   - mode-supervisor: the same N children under a supervisor.New root.
//   - suture: a suture v4 supervisor with N services blocking on their
//     context; started once every Serve was entered, stopped once
//     ServeBackground's channel reports.
//   - goroutines: the floor, N goroutines blocking on a context, one
//     WaitGroup for "all entered" and one for "all returned".
//
// Besides time and allocation per service it reports, measured once while
// a tree runs, the bytes it holds (heap plus stacks, from before it was
// built: B/service) and the goroutines per service.
func BenchmarkStartStop(b *testing.B) {
	for _, n := range sizes(1_000, 10_000, 100_000) {
		b.Run("mode/"+nName(n), func(b *testing.B) { runStartStop(b, n, modeTree) })
		b.Run("mode-supervisor/"+nName(n), func(b *testing.B) { runStartStop(b, n, modeSupervisorTree) })
		b.Run("suture/"+nName(n), func(b *testing.B) { runStartStop(b, n, sutureTree) })
		b.Run("goroutines/"+nName(n), func(b *testing.B) { runStartStop(b, n, goroutineTree) })
	}
}

// A tree builds n idle leaves and returns the function that starts them,
// which returns the function that stops them all.
type tree func(b *testing.B, n int) (start func() (stop func() error))

func runStartStop(b *testing.B, n int, build tree) {
	var buildTime time.Duration
	var buildAlloc, runAlloc uint64
	var heldBytes, heldGoroutines float64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		var before heap
		if i == 0 {
			before = measure()
		}
		a0, t0 := totalAlloc(), time.Now()
		start := build(b, n)
		buildTime += time.Since(t0)
		a1 := totalAlloc()
		buildAlloc += a1 - a0
		b.StartTimer()
		stop := start()
		if i == 0 { // what the running tree holds, measured once
			b.StopTimer()
			after := measure()
			heldBytes = float64(int64(after.bytes)-int64(before.bytes)) / float64(n)
			heldGoroutines = float64(after.goroutines-before.goroutines) / float64(n)
			b.StartTimer()
		}
		if err := stop(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runAlloc += totalAlloc() - a1
	}
	total := float64(b.N) * float64(n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/service")
	b.ReportMetric(float64(runAlloc)/total, "allocB/service")
	b.ReportMetric(float64(buildTime.Nanoseconds())/total, "build-ns/service")
	b.ReportMetric(float64(buildAlloc)/total, "build-allocB/service")
	b.ReportMetric(heldBytes, "B/service")
	b.ReportMetric(heldGoroutines, "goroutines/service")
}

func modeTree(b *testing.B, n int) func() func() error {
	root := &idle{}
	root.Configure(quiet("root"))
	for range n {
		c := &idle{}
		c.Configure(quiet(""))
		if err := root.AddDependency(c); err != nil {
			b.Fatal(err)
		}
	}
	return func() func() error { return startMode(b, root, n) }
}

func modeSupervisorTree(b *testing.B, n int) func() func() error {
	sup := supervisor.New(supervisor.Spec{Service: quiet("root")})
	for range n {
		c := &idle{}
		c.Configure(quiet(""))
		if err := sup.Add(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	return func() func() error { return startMode(b, sup, n) }
}

// startMode starts root and checks that its n children run.
func startMode(b *testing.B, root service.Service, n int) func() error {
	ctx := context.Background()
	if err := service.Start(ctx, root); err != nil {
		b.Fatal(err)
	}
	kids := root.Node().Children()
	if len(kids) != n {
		b.Fatalf("%d children, want %d", len(kids), n)
	}
	if s := kids[n-1].Value().(service.Service).State(); s != service.Running {
		b.Fatalf("last child %v", s)
	}
	return func() error { return root.Stop(ctx) }
}

func sutureTree(b *testing.B, n int) func() func() error {
	var entered sync.WaitGroup
	sup := suture.New("root", sutureSpec())
	for range n {
		sup.Add(&blocker{started: entered.Done})
	}
	return func() func() error {
		entered.Add(n)
		stop := serveSuture(sup)
		entered.Wait()
		return stop
	}
}

func goroutineTree(b *testing.B, n int) func() func() error {
	return func() func() error {
		ctx, cancel := context.WithCancel(context.Background())
		var entered, exited sync.WaitGroup
		entered.Add(n)
		exited.Add(n)
		for range n {
			go func() {
				defer exited.Done()
				entered.Done()
				<-ctx.Done()
			}()
		}
		entered.Wait()
		return func() error {
			cancel()
			exited.Wait()
			return nil
		}
	}
}
