package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/thejerf/suture/v4"
)

const stormSize = 1_000

// BenchmarkCrashStorm measures the time from a crash storm to every child
// running again; ns/child divides an iteration by the number of children.
//
//   - OneForOne/mode: 1,000 service.Func children under one supervisor
//     all return an error at once; the iteration ends when each has
//     entered its function again.
//   - OneForOne/suture: the same with 1,000 services under one suture v4
//     supervisor (no backoff).
//   - OneForOne/goroutines: the floor, 1,000 restart loops as in
//     BenchmarkRestart/goroutine-ctx-recover, one per child.
//   - OneForAll/mode: 1,000 Func children under a OneForAll supervisor; one
//     of them crashes, the supervisor stops the 999 others and restarts all
//     1,000. (suture has no one-for-all.)
//   - OneForAll/mode-together: the same with Spec.StopTogether: the 999
//     are cancelled together, then their stops finish in reverse order.
func BenchmarkCrashStorm(b *testing.B) {
	b.Run("OneForOne/mode/N=1000", func(b *testing.B) { benchModeStorm(b, strategy.OneForOne, false) })
	b.Run("OneForOne/suture/N=1000", benchSutureStorm)
	b.Run("OneForOne/goroutines/N=1000", benchFloorStorm)
	b.Run("OneForAll/mode/N=1000", func(b *testing.B) { benchModeStorm(b, strategy.OneForAll, false) })
	b.Run("OneForAll/mode-together/N=1000", func(b *testing.B) { benchModeStorm(b, strategy.OneForAll, true) })
}

// storm is the body every child runs: on entry it counts itself in the
// current round, then waits for the round's crash signal (a closed
// channel) or for its context.
type storm struct {
	runs    atomic.Int64
	entered sync.WaitGroup
	round   atomic.Pointer[chan struct{}]
}

func newStorm(n int) *storm {
	s := &storm{}
	ch := make(chan struct{})
	s.round.Store(&ch)
	s.entered.Add(n)
	return s
}

func (s *storm) run(ctx context.Context) error {
	crash := *s.round.Load()
	s.runs.Add(1)
	s.entered.Done()
	select {
	case <-crash:
		return errCrash
	case <-ctx.Done():
		return ctx.Err()
	}
}

// next opens a round expecting n runs and returns the previous round's
// crash signal: closing it crashes every child that waits on it.
func (s *storm) next(n int) (crashAll func()) {
	s.entered.Add(n)
	ch := make(chan struct{})
	old := s.round.Swap(&ch)
	return func() { close(*old) }
}

// wait waits for the round's runs, with a watchdog.
func (s *storm) wait(b *testing.B) {
	done := make(chan struct{})
	go func() { s.entered.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		b.Fatalf("storm not over after a minute (%d runs)", s.runs.Load())
	}
}

func (s *storm) check(b *testing.B, n int) {
	if got, want := s.runs.Load(), int64(n)*int64(b.N+1); got != want {
		b.Fatalf("%d runs, want %d", got, want)
	}
}

// stormClock times each storm, so that a run reports the median storm
// (median-us), which a shared machine's slow spells move less than the
// mean (ns/op).
type stormClock struct {
	took  []time.Duration
	begun time.Time
}

func newStormClock(b *testing.B) *stormClock { return &stormClock{took: make([]time.Duration, 0, b.N)} }

func (c *stormClock) begin() { c.begun = time.Now() }
func (c *stormClock) end()   { c.took = append(c.took, time.Since(c.begun)) }

func (c *stormClock) report(b *testing.B) {
	b.ReportMetric(float64(median(c.took).Nanoseconds())/1e3, "median-us")
}

// median sorts took (not empty) and returns its median: the middle one,
// or the mean of the two middle ones of an even count (with -benchtime 2x,
// took[len/2] alone is the slower storm).
func median(took []time.Duration) time.Duration {
	slices.Sort(took)
	n := len(took)
	if n%2 == 1 {
		return took[n/2]
	}
	return took[n/2-1] + (took[n/2]-took[n/2-1])/2
}

func benchModeStorm(b *testing.B, st strategy.Strategy, together bool) {
	ctx := context.Background()
	s := newStorm(stormSize)
	var ev events
	sup := supervisor.New(lenient(supervisor.Spec{Strategy: st, OnEvent: ev.count, StopTogether: together}))
	kids := make([]*service.FuncService, stormSize)
	for i := range kids {
		kids[i] = service.Func("", s.run)
		kids[i].Configure(quiet(""))
		if err := sup.Add(context.Background(), kids[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := service.Start(ctx, sup); err != nil {
		b.Fatal(err)
	}
	s.wait(b)
	clk := newStormClock(b)
	b.ResetTimer()
	for range b.N {
		clk.begin()
		if st == strategy.OneForAll {
			s.next(stormSize)
			kids[0].Crash(errCrash)
		} else {
			s.next(stormSize)()
		}
		s.wait(b)
		clk.end()
	}
	b.StopTimer()
	clk.report(b)
	s.check(b, stormSize)
	if err := sup.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	// OneForAll: one crash, one group restart of every child, per
	// iteration. OneForOne: every child crashed and was restarted once.
	crashes := int64(b.N) * stormSize
	if st == strategy.OneForAll {
		crashes = int64(b.N)
	}
	if got := ev.crashed.Load(); got != crashes {
		b.Fatalf("%d crashes, want %d", got, crashes)
	}
	if got := ev.startFailed.Load(); got != 0 {
		b.Fatalf("%d failed starts", got)
	}
	for i, c := range sup.Children() {
		if c.RestartCount != b.N {
			b.Fatalf("child %d: RestartCount %d, want %d", i, c.RestartCount, b.N)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*stormSize), "ns/child")
}

// stormService adapts a storm to suture.Service.
type stormService struct{ *storm }

func (s stormService) Serve(ctx context.Context) error { return s.run(ctx) }
func (stormService) String() string                    { return "storm" }

func benchSutureStorm(b *testing.B) {
	s := newStorm(stormSize)
	sup := suture.New("sup", sutureSpec())
	for range stormSize {
		sup.Add(stormService{s})
	}
	stop := serveSuture(sup)
	s.wait(b)
	clk := newStormClock(b)
	b.ResetTimer()
	for range b.N {
		clk.begin()
		s.next(stormSize)()
		s.wait(b)
		clk.end()
	}
	b.StopTimer()
	clk.report(b)
	s.check(b, stormSize)
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*stormSize), "ns/child")
}

func benchFloorStorm(b *testing.B) {
	s := newStorm(stormSize)
	parent, cancel := context.WithCancel(context.Background())
	var loops sync.WaitGroup
	for range stormSize {
		loops.Add(1)
		go func() {
			defer loops.Done()
			floorCtxRecover(parent, s.run)
		}()
	}
	s.wait(b)
	clk := newStormClock(b)
	b.ResetTimer()
	for range b.N {
		clk.begin()
		s.next(stormSize)()
		s.wait(b)
		clk.end()
	}
	b.StopTimer()
	clk.report(b)
	s.check(b, stormSize)
	cancel()
	loops.Wait()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*stormSize), "ns/child")
}
