package observe_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkMetricsRestart measures restart latency (from a child's Crash
// to its next run entering its function) under a supervisor, side by side:
//
//   - unobserved: nothing attached;
//   - noop-observer: an observer that does nothing attached (what
//     observing costs the engine, whoever observes);
//   - metrics: a Metrics attached to the supervisor;
//   - metrics+scrapes: the same, with a goroutine gathering from a
//     registry every millisecond (15,000 times Prometheus's default
//     rate) the whole time.
//
// Each checks that the child ran b.N+1 times, and the metrics variants
// that the Metrics counted b.N restarts.
func BenchmarkMetricsRestart(b *testing.B) {
	b.Run("unobserved", func(b *testing.B) { benchMetricsRestart(b, nil, false) })
	b.Run("noop-observer", func(b *testing.B) { benchMetricsRestart(b, metricsNoop{}, false) })
	b.Run("metrics", func(b *testing.B) { benchMetricsRestart(b, nil, true) })
	b.Run("metrics+scrapes", func(b *testing.B) { benchMetricsRestart(b, nil, true, true) })
}

// metricsNoop observes everything and does nothing.
type metricsNoop struct{}

func (metricsNoop) StateChanged(service.Service, service.State, service.State) {}
func (metricsNoop) SupervisorEvent(*supervisor.Supervisor, supervisor.Event)   {}
func (metricsNoop) Stopped(service.Service, time.Duration, error)              {}

func benchMetricsRestart(b *testing.B, other service.Observer, attached bool, scrapedOpt ...bool) {
	scraped := len(scrapedOpt) > 0 && scrapedOpt[0]
	var runs atomic.Int64
	entered := make(chan struct{})
	f := service.Func("crasher", func(ctx context.Context) error {
		runs.Add(1)
		select {
		case entered <- struct{}{}:
		case <-ctx.Done():
		}
		<-ctx.Done()
		return nil
	})
	f.Configure(service.Config{Logger: &metricsQuiet})
	sup := metricsSup(supervisor.Spec{MaxRestarts: 1 << 30, Window: time.Millisecond})
	if err := sup.Add(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	m := &observe.Metrics{}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	defer observeBench(b, sup, m, attached, other)()
	stop := make(chan struct{})
	var scraper sync.WaitGroup
	if scraped {
		scraper.Go(func() {
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := reg.Gather(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	if err := service.Start(context.Background(), sup); err != nil {
		b.Fatal(err)
	}
	<-entered
	b.ResetTimer()
	for range b.N {
		f.Crash(errMetrics)
		<-entered
	}
	b.StopTimer()
	close(stop)
	scraper.Wait()
	if err := sup.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := runs.Load(); got != int64(b.N)+1 {
		b.Fatalf("%d runs, want %d", got, b.N+1)
	}
	if attached {
		wantRestarts(b, reg, b.N)
	}
}

// BenchmarkMetricsCrashStorm measures a crash storm of 1,000 children of
// one supervisor (all crash at once; an iteration ends when each has
// entered its function again), side by side unobserved, with a no-op
// observer and with a Metrics attached; ns/child divides an iteration by
// the children.
func BenchmarkMetricsCrashStorm(b *testing.B) {
	b.Run("unobserved/N=1000", func(b *testing.B) { benchMetricsStorm(b, nil, false) })
	b.Run("noop-observer/N=1000", func(b *testing.B) { benchMetricsStorm(b, metricsNoop{}, false) })
	b.Run("metrics/N=1000", func(b *testing.B) { benchMetricsStorm(b, nil, true) })
}

func benchMetricsStorm(b *testing.B, other service.Observer, attached bool) {
	const n = 1000
	var entered sync.WaitGroup
	var round atomic.Pointer[chan struct{}]
	ch := make(chan struct{})
	round.Store(&ch)
	entered.Add(n)
	body := func(ctx context.Context) error {
		crash := *round.Load()
		entered.Done()
		select {
		case <-crash:
			return errMetrics
		case <-ctx.Done():
			return nil
		}
	}
	sup := metricsSup(supervisor.Spec{MaxRestarts: 1 << 30, Window: time.Millisecond})
	for i := range n {
		f := service.Func("child", body)
		f.Configure(service.Config{Logger: &metricsQuiet})
		if err := sup.Add(context.Background(), f, supervisor.ChildSpec{ID: strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
	m := &observe.Metrics{}
	defer observeBench(b, sup, m, attached, other)()
	if err := service.Start(context.Background(), sup); err != nil {
		b.Fatal(err)
	}
	entered.Wait()
	b.ResetTimer()
	for range b.N {
		entered.Add(n)
		next := make(chan struct{})
		old := round.Swap(&next)
		close(*old)
		entered.Wait()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/child")
	if err := sup.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
	if attached {
		reg := prometheus.NewRegistry()
		reg.MustRegister(m)
		wantRestarts(b, reg, b.N*n)
	}
}

// observeBench attaches m to sup if attached, and other if not nil, and
// returns what detaches them.
func observeBench(b *testing.B, sup *supervisor.Supervisor, m *observe.Metrics, attached bool, other service.Observer) (detach func()) {
	var undo []func()
	if attached {
		d, err := m.Attach(sup)
		if err != nil {
			b.Fatal(err)
		}
		undo = append(undo, d)
	}
	if other != nil {
		d, err := service.Observe(sup, other)
		if err != nil {
			b.Fatal(err)
		}
		undo = append(undo, d)
	}
	return func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
}

// wantRestarts fails b unless reg's mode_child_restarts_total is want.
func wantRestarts(b *testing.B, reg *prometheus.Registry, want int) {
	b.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "mode_child_restarts_total" {
			if got := mf.GetMetric()[0].GetCounter().GetValue(); got != float64(want) {
				b.Fatalf("counted %v restarts, want %d", got, want)
			}
		}
	}
}
