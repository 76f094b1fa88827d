package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/thejerf/suture/v4"
)

// BenchmarkFuncStartStop measures the whole life of N leaves that each run
// a function in one goroutine: the tree is built, started, every function
// has been entered (all running), and the tree is stopped (every function
// has returned). Each iteration is one such life, timed whole;
// ns/svc divides it by N, and build-, start- and stop-ns/svc split it.
//
//   - mode: N service.Func children under supervisor.New.
//   - mode-together: the same with Spec.StopTogether (the children are
//     cancelled together, then their stops finish in reverse order), as
//     suture stops its services.
//   - mode-root: N service.Func children under a plain Base root.
//   - suture: N services under one suture v4 supervisor; started once every
//     Serve was entered, stopped once ServeBackground's channel reports.
//   - floor: N goroutines blocking on one shared ctx.Done(), a WaitGroup to
//     know all were entered and one to join them (nothing to build).
//   - floor-serial: the least a stop "one after another, in reverse" costs:
//     N goroutines, each with its own context and done channel, stopped one
//     at a time in reverse order, each joined before the next is cancelled.
//   - floor-together: the same goroutines, each with its own context and
//     done channel (each can be stopped alone, as a supervised leaf must),
//     all cancelled, then joined in reverse: the least Spec.StopTogether
//     (and suture's stop) costs.
//
// Every variant runs the same function (count the entry, wait for the
// context, count the return); the benchmark checks after each start that
// all N were entered and the tree runs, and after each stop that all N
// returned and the tree is stopped, with the timer stopped.
func BenchmarkFuncStartStop(b *testing.B) {
	for _, n := range sizes(1_000, 10_000, 100_000) {
		b.Run("mode/"+nName(n), func(b *testing.B) { runLifecycle(b, n, modeFuncs(false)) })
		b.Run("mode-together/"+nName(n), func(b *testing.B) { runLifecycle(b, n, modeFuncs(true)) })
		b.Run("mode-root/"+nName(n), func(b *testing.B) { runLifecycle(b, n, modeRootFuncs) })
		b.Run("suture/"+nName(n), func(b *testing.B) { runLifecycle(b, n, sutureServices) })
		b.Run("floor/"+nName(n), func(b *testing.B) { runLifecycle(b, n, floorGoroutines) })
		b.Run("floor-serial/"+nName(n), func(b *testing.B) { runLifecycle(b, n, floorSerial) })
		b.Run("floor-together/"+nName(n), func(b *testing.B) { runLifecycle(b, n, floorTogether) })
	}
}

// BenchmarkStartStop is BenchmarkFuncStartStop's life (built, started, all
// running, stopped, timed whole) for N idle service.Base leaves, which hold
// no goroutine, beside the same goroutine floor.
//
//   - mode: N Base children (no hooks, tasks or timers) under
//     supervisor.New.
//   - mode-together: the same with Spec.StopTogether.
//   - mode-root: the same N children under a plain Base root.
//   - floor: as in BenchmarkFuncStartStop.
//
// After each start it checks that every child is Running, after each stop
// that every child is Shutdown, with the timer stopped.
func BenchmarkStartStop(b *testing.B) {
	for _, n := range sizes(1_000, 10_000, 100_000) {
		b.Run("mode/"+nName(n), func(b *testing.B) { runLifecycle(b, n, modeSupervisorTree(false)) })
		b.Run("mode-together/"+nName(n), func(b *testing.B) { runLifecycle(b, n, modeSupervisorTree(true)) })
		b.Run("mode-root/"+nName(n), func(b *testing.B) { runLifecycle(b, n, modeTree) })
		b.Run("floor/"+nName(n), func(b *testing.B) { runLifecycle(b, n, floorGoroutines) })
	}
}

// A lifecycle is one built tree of n leaves. start returns once every leaf
// runs, stop once every leaf has stopped; check verifies (untimed) what
// start (running true) or stop (running false) should have done.
type lifecycle struct {
	start func() error
	stop  func() error
	check func(running bool) error
	// full, if set, checks more than check (a supervisor's own records)
	// and allocates more: it runs after check on the first life only, so
	// that its garbage does not weigh on the timed part of the others.
	full func(running bool) error
}

// verify runs lc's checks: check, and full too when first.
func (lc lifecycle) verify(running, first bool) error {
	if err := lc.check(running); err != nil {
		return err
	}
	if first && lc.full != nil {
		return lc.full(running)
	}
	return nil
}

// A tree builds a lifecycle of n leaves; the build is timed.
type tree func(b *testing.B, n int) lifecycle

// allocs is a snapshot of the program's allocation counters.
type allocs struct{ objects, bytes uint64 }

func readAllocs() allocs {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return allocs{m.Mallocs, m.TotalAlloc}
}

func (a allocs) sub(o allocs) allocs { return allocs{a.objects - o.objects, a.bytes - o.bytes} }
func (a allocs) add(o allocs) allocs { return allocs{a.objects + o.objects, a.bytes + o.bytes} }

// runLifecycle times b.N lives of a tree of n leaves: build, start, stop.
// Besides ns/op, allocs/op and B/op (the whole life), it reports per
// service: the time (ns/svc) and its build, start and stop parts; the
// allocations to build and to run (start+stop); and, measured once while a
// tree runs, the bytes it holds (heap plus stacks from before it was built)
// and its goroutines.
func runLifecycle(b *testing.B, n int, build tree) {
	b.ReportAllocs()
	var tBuild, tStart, tStop time.Duration
	var aBuild, aRun allocs
	var heldBytes, heldGoroutines float64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		var before heap
		if i == 0 {
			before = measure()
		}
		a0 := readAllocs()
		b.StartTimer()

		t0 := time.Now()
		lc := build(b, n)
		tBuild += time.Since(t0)

		b.StopTimer()
		a1 := readAllocs()
		b.StartTimer()

		t0 = time.Now()
		if err := lc.start(); err != nil {
			b.Fatal(err)
		}
		tStart += time.Since(t0)

		b.StopTimer()
		a2 := readAllocs()
		if err := lc.verify(true, i == 0); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			after := measure()
			heldBytes = float64(int64(after.bytes)-int64(before.bytes)) / float64(n)
			heldGoroutines = float64(after.goroutines-before.goroutines) / float64(n)
		}
		a3 := readAllocs()
		b.StartTimer()

		t0 = time.Now()
		if err := lc.stop(); err != nil {
			b.Fatal(err)
		}
		tStop += time.Since(t0)

		b.StopTimer()
		a4 := readAllocs()
		if err := lc.verify(false, i == 0); err != nil {
			b.Fatal(err)
		}
		aBuild = aBuild.add(a1.sub(a0))
		aRun = aRun.add(a2.sub(a1)).add(a4.sub(a3))
		b.StartTimer()
	}
	b.StopTimer()
	total := float64(b.N) * float64(n)
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / total }
	b.ReportMetric(per(b.Elapsed()), "ns/svc")
	b.ReportMetric(per(tBuild), "build-ns/svc")
	b.ReportMetric(per(tStart), "start-ns/svc")
	b.ReportMetric(per(tStop), "stop-ns/svc")
	b.ReportMetric(float64(aBuild.objects)/total, "build-allocs/svc")
	b.ReportMetric(float64(aBuild.bytes)/total, "build-B/svc")
	b.ReportMetric(float64(aRun.objects)/total, "run-allocs/svc")
	b.ReportMetric(float64(aRun.bytes)/total, "run-B/svc")
	b.ReportMetric(heldBytes, "held-B/svc")
	b.ReportMetric(heldGoroutines, "goroutines/svc")
}

// leaves is the function every leaf of BenchmarkFuncStartStop runs, with
// its counters: entered is released once n leaves were entered, returned
// counts the returns.
type leaves struct {
	n        int
	entered  sync.WaitGroup
	enters   atomic.Int64
	returned atomic.Int64
}

func newLeaves(n int) *leaves {
	l := &leaves{n: n}
	l.entered.Add(n)
	return l
}

func (l *leaves) run(ctx context.Context) error {
	l.enters.Add(1)
	l.entered.Done()
	<-ctx.Done()
	l.returned.Add(1)
	return ctx.Err()
}

// check verifies the counts: n entered, and n returned once stopped.
func (l *leaves) check(running bool) error {
	if got := l.enters.Load(); got != int64(l.n) {
		return fmt.Errorf("%d functions entered, want %d", got, l.n)
	}
	want := int64(0)
	if !running {
		want = int64(l.n)
	}
	if got := l.returned.Load(); got != want {
		return fmt.Errorf("%d functions returned, want %d (running %v)", got, want, running)
	}
	return nil
}

// wantState is the state every mode service is in after start or stop.
func wantState(running bool) service.State {
	if running {
		return service.Running
	}
	return service.Shutdown
}

// checkTree checks the root's state and that it has n children, each in
// the state running asks for and never restarted (its RestartCount counts
// its supervisor's restarts of it). It allocates one slice (the nodes),
// so that the garbage of the untimed check hardly weighs on the timed
// part.
func checkTree(root service.Service, n int, running bool) error {
	want := wantState(running)
	if s := root.State(); s != want {
		return fmt.Errorf("root %v, want %v", s, want)
	}
	kids := root.Node().Children()
	if len(kids) != n {
		return fmt.Errorf("%d children, want %d", len(kids), n)
	}
	for i, k := range kids {
		svc := k.Value().(service.Service)
		if s := svc.State(); s != want {
			return fmt.Errorf("child %d %v, want %v", i, s, want)
		}
		if r := svc.RestartCount(); r != 0 {
			return fmt.Errorf("child %d restarted %d times", i, r)
		}
	}
	return nil
}

// checkSupervisor checks the supervisor's own records (Children: every
// child listed, in the state running asks for, none restarted), which
// makes every child's ID and label.
func checkSupervisor(sup *supervisor.Supervisor, n int, running bool) error {
	infos := sup.Children()
	if len(infos) != n {
		return fmt.Errorf("Children lists %d, want %d", len(infos), n)
	}
	for i, c := range infos {
		if c.RestartCount != 0 {
			return fmt.Errorf("child %d restarted %d times", i, c.RestartCount)
		}
		if c.State != wantState(running) {
			return fmt.Errorf("Children: child %d %v, want %v", i, c.State, wantState(running))
		}
	}
	return nil
}

// modeLifecycle starts root and stops it with service.Start and Stop.
func modeLifecycle(root service.Service, check func(running bool) error) lifecycle {
	ctx := context.Background()
	return lifecycle{
		start: func() error { return service.Start(ctx, root) },
		stop:  func() error { return root.Stop(ctx) },
		check: check,
	}
}

func newSupervisor(together bool) *supervisor.Supervisor {
	return supervisor.New(supervisor.Spec{Service: quiet("root"), StopTogether: together})
}

func newRoot() *idle {
	root := &idle{}
	root.Configure(quiet("root"))
	return root
}

// modeFuncs returns the mode variant's tree builder, with Spec.StopTogether
// set to together.
func modeFuncs(together bool) func(b *testing.B, n int) lifecycle {
	return func(b *testing.B, n int) lifecycle { return modeFuncTree(b, n, together) }
}

func modeFuncTree(b *testing.B, n int, together bool) lifecycle {
	l := newLeaves(n)
	sup := newSupervisor(together)
	for range n {
		f := service.Func("", l.run)
		f.Configure(quiet(""))
		if err := sup.Add(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
	lc := modeLifecycle(sup, func(running bool) error {
		if err := l.check(running); err != nil {
			return err
		}
		return checkTree(sup, n, running)
	})
	lc.full = func(running bool) error { return checkSupervisor(sup, n, running) }
	lc.start = waitEntered(lc.start, l)
	return lc
}

func modeRootFuncs(b *testing.B, n int) lifecycle {
	l := newLeaves(n)
	root := newRoot()
	for range n {
		f := service.Func("", l.run)
		f.Configure(quiet(""))
		if err := root.AddDependency(f); err != nil {
			b.Fatal(err)
		}
	}
	lc := modeLifecycle(root, func(running bool) error {
		if err := l.check(running); err != nil {
			return err
		}
		return checkTree(root, n, running)
	})
	lc.start = waitEntered(lc.start, l)
	return lc
}

// waitEntered makes start also wait until every leaf was entered.
func waitEntered(start func() error, l *leaves) func() error {
	return func() error {
		if err := start(); err != nil {
			return err
		}
		l.entered.Wait()
		return nil
	}
}

func sutureServices(b *testing.B, n int) lifecycle {
	l := newLeaves(n)
	sup := suture.New("root", sutureSpec())
	for range n {
		sup.Add(sutureLeaf{l})
	}
	var stop func() error
	return lifecycle{
		start: func() error {
			stop = serveSuture(sup)
			l.entered.Wait()
			return nil
		},
		stop:  func() error { return stop() },
		check: l.check,
	}
}

// sutureLeaf adapts leaves to suture.Service.
type sutureLeaf struct{ *leaves }

func (s sutureLeaf) Serve(ctx context.Context) error { return s.run(ctx) }

// String keeps suture from formatting the service with %#v on Add.
func (sutureLeaf) String() string { return "leaf" }

// floorGoroutines is the floor: nothing to build; start runs n goroutines
// blocking on one shared context, stop cancels it and joins them.
func floorGoroutines(b *testing.B, n int) lifecycle {
	l := newLeaves(n)
	var cancel context.CancelFunc
	var exited sync.WaitGroup
	return lifecycle{
		start: func() error {
			var ctx context.Context
			ctx, cancel = context.WithCancel(context.Background())
			exited.Add(n)
			for range n {
				go func() {
					defer exited.Done()
					_ = l.run(ctx)
				}()
			}
			l.entered.Wait()
			return nil
		},
		stop: func() error {
			cancel()
			exited.Wait()
			return nil
		},
		check: l.check,
	}
}

func modeTree(b *testing.B, n int) lifecycle {
	root := newRoot()
	for range n {
		c := &idle{}
		c.Configure(quiet(""))
		if err := root.AddDependency(c); err != nil {
			b.Fatal(err)
		}
	}
	return modeLifecycle(root, func(running bool) error { return checkTree(root, n, running) })
}

// modeSupervisorTree returns the mode variant's tree builder, with
// Spec.StopTogether set to together.
func modeSupervisorTree(together bool) func(b *testing.B, n int) lifecycle {
	return func(b *testing.B, n int) lifecycle { return modeIdleTree(b, n, together) }
}

func modeIdleTree(b *testing.B, n int, together bool) lifecycle {
	sup := newSupervisor(together)
	for range n {
		c := &idle{}
		c.Configure(quiet(""))
		if err := sup.Add(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
	lc := modeLifecycle(sup, func(running bool) error { return checkTree(sup, n, running) })
	lc.full = func(running bool) error { return checkSupervisor(sup, n, running) }
	return lc
}

// floorSerial is floorGoroutines with a context and a done channel per
// goroutine, stopped one at a time in reverse order: cancel one, wait for
// it to return, then the next.
func floorSerial(b *testing.B, n int) lifecycle { return floorPerService(n, false) }

// floorTogether is floorSerial's goroutines all cancelled first, then
// joined in reverse order.
func floorTogether(b *testing.B, n int) lifecycle { return floorPerService(n, true) }

// floorPerService is floorGoroutines with a context and a done channel per
// goroutine, stopped in reverse order: each cancelled and joined before
// the next, or (together) all cancelled, then joined.
func floorPerService(n int, together bool) lifecycle {
	l := newLeaves(n)
	cancels := make([]context.CancelFunc, n)
	dones := make([]chan struct{}, n)
	return lifecycle{
		start: func() error {
			for i := range n {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				cancels[i], dones[i] = cancel, done
				go func() {
					defer close(done)
					_ = l.run(ctx)
				}()
			}
			l.entered.Wait()
			return nil
		},
		stop: func() error {
			if together {
				for i := n - 1; i >= 0; i-- {
					cancels[i]()
				}
			}
			for i := n - 1; i >= 0; i-- {
				cancels[i]()
				<-dones[i]
			}
			return nil
		},
		check: l.check,
	}
}
