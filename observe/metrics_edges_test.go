package observe_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMetricsAttach: Attach refuses what would count twice or nothing,
// and detach is idempotent.
func TestMetricsAttach(t *testing.T) {
	sup := metricsSup(supervisor.Spec{})
	a := metricsIdle("a")
	if err := sup.Add(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	other := metricsIdle("other")
	m := &observe.Metrics{}
	detach, err := m.Attach(sup)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		root service.Service
		want error
	}{
		{"nil", nil, service.ErrNilService},
		{"typed nil", (*supervisor.Supervisor)(nil), service.ErrNilService},
		{"same root", sup, observe.ErrAlreadyAttached},
		{"a subtree", a, observe.ErrAlreadyAttached},
		{"another tree", other, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := m.Attach(tc.root)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Attach: %v, want %v", err, tc.want)
			}
			if err == nil {
				d()
				d()
			}
		})
	}
	detach()
	detach()
	// Detached, the tree may be attached again, from below too.
	d, err := m.Attach(a)
	if err != nil {
		t.Fatalf("Attach after detach: %v", err)
	}
	d()
}

// TestMetricsWorker: as a Worker's extension, Metrics reads the tree
// while the Worker runs and lets it go at the end of the run.
func TestMetricsWorker(t *testing.T) {
	sup := metricsSup(supervisor.Spec{})
	if err := sup.Add(t.Context(), metricsIdle("a")); err != nil {
		t.Fatal(err)
	}
	m := &observe.Metrics{Namespace: "app"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	running := -1.0
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := mode.Worker{
		Service: sup, Logger: &metricsQuiet, Extensions: []mode.Extension{m},
		Ready: func() {
			running = metricsGauge(t, reg, "app_services", "running")
			cancel()
		},
	}
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if running != 2 {
		t.Fatalf("app_services{state=running} %v while running, want 2", running)
	}
	if got := metricsGauge(t, reg, "app_services", "shutdown"); got != 0 {
		t.Fatalf("app_services{state=shutdown} %v after the run, want 0 (detached)", got)
	}
	if _, err := m.Attach(sup); err != nil { // detached at StepStopped
		t.Fatalf("Attach after the run: %v", err)
	}
}

// metricsGauge returns the value of the sample of family name whose state
// label is state.
func metricsGauge(t *testing.T, reg *prometheus.Registry, name, state string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if mt.GetLabel()[0].GetValue() == state {
				return mt.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("%s{state=%q} not gathered", name, state)
	return 0
}

// TestMetricsStormScrapes: scrapes running concurrently with a crash
// storm, and with children added and removed, gather without error
// (run it with -race); once the storm is over the counters equal the
// events a test observer counted.
func TestMetricsStormScrapes(t *testing.T) {
	const kids, crashers, scrapers, rounds = 8, 4, 3, 200
	sup := metricsSup(supervisor.Spec{MaxRestarts: 1 << 20, Window: time.Millisecond})
	fs := make([]*service.FuncService, kids)
	for i := range fs {
		fs[i] = metricsIdle(fmt.Sprintf("k%d", i%3)) // shared labels: shared series
		if err := sup.Add(t.Context(), fs[i], supervisor.ChildSpec{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	m := &observe.Metrics{}
	reg := metricsAttach(t, m, sup)
	var counted metricsCounter
	detach, err := service.Observe(sup, &counted)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	if err := service.Start(t.Context(), sup); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var scrapes, storm sync.WaitGroup
	for range scrapers {
		scrapes.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for c := range crashers {
		storm.Go(func() {
			for r := range rounds {
				fs[(c+r)%kids].Crash(errMetrics)
				if r%10 == 0 { // the tree changes under the scrapes
					x := metricsIdle("extra")
					if err := sup.Add(t.Context(), x, supervisor.ChildSpec{ID: fmt.Sprintf("extra%d.%d", c, r)}); err != nil {
						t.Error(err)
					} else if err := sup.Remove(t.Context(), x); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	storm.Wait()
	close(stop)
	scrapes.Wait()
	if err := sup.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	sum := func(name string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		total := 0.0
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, mt := range mf.GetMetric() {
					total += mt.GetCounter().GetValue()
				}
			}
		}
		return total
	}
	if got, want := sum("mode_child_crashes_total"), float64(counted.crashes.Load()); got != want || want == 0 {
		t.Fatalf("crashes counted %v, events %v", got, want)
	}
	if got, want := sum("mode_child_restarts_total"), float64(counted.restarts.Load()); got != want {
		t.Fatalf("restarts counted %v, events %v", got, want)
	}
}

// metricsCounter counts crash and restart events.
type metricsCounter struct{ crashes, restarts atomic.Int64 }

func (*metricsCounter) StateChanged(service.Service, service.State, service.State) {}

func (c *metricsCounter) SupervisorEvent(_ *supervisor.Supervisor, e supervisor.Event) {
	switch e.Kind {
	case supervisor.ChildCrashed:
		c.crashes.Add(1)
	case supervisor.ChildRestarted:
		c.restarts.Add(1)
	}
}

// TestMetricsHostile: what a careless application or a hostile tree
// does to a Metrics.
func TestMetricsHostile(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"names that are not UTF-8 are scraped, mended", func(t *testing.T) {
			s := &metricsTicking{every: time.Hour}
			s.Configure(service.Config{Name: "bad\xffname", Logger: &metricsQuiet})
			sup := metricsSup(supervisor.Spec{MaxRestarts: 100, Window: time.Hour})
			if err := sup.Add(t.Context(), s); err != nil {
				t.Fatal(err)
			}
			reg := metricsAttach(t, &observe.Metrics{}, sup)
			events := metricsTapEvents(t, sup)
			if err := service.Start(t.Context(), sup); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sup.Stop(context.Background()) }()
			s.Crash(errMetrics)
			metricsWaitFor(t, events, supervisor.ChildRestarted, "")
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, mf := range mfs {
				if mf.GetName() == "mode_child_crashes_total" || mf.GetName() == "mode_timer_runs_total" {
					if got := mf.GetMetric()[0].GetLabel()[0].GetValue(); got != "root/bad\uFFFDname" {
						t.Errorf("%s: service %q", mf.GetName(), got)
					}
				}
			}
		}},
		{"a namespace that is not UTF-8 fails the registration, not the scrape", func(t *testing.T) {
			if err := prometheus.NewRegistry().Register(&observe.Metrics{Namespace: "\xff"}); err == nil {
				t.Fatal("registered")
			}
		}},
		{"two Metrics on one registry need two namespaces", func(t *testing.T) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(&observe.Metrics{})
			if err := reg.Register(&observe.Metrics{}); err == nil {
				t.Fatal("registered twice")
			}
			if err := reg.Register(&observe.Metrics{Namespace: "other"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a Worker whose tree the application attached already fails to start", func(t *testing.T) {
			sup := metricsSup(supervisor.Spec{})
			m := &observe.Metrics{}
			detach, err := m.Attach(sup)
			if err != nil {
				t.Fatal(err)
			}
			defer detach()
			w := mode.Worker{Service: sup, Logger: &metricsQuiet, Extensions: []mode.Extension{m}}
			if err := w.Run(t.Context()); !errors.Is(err, observe.ErrAlreadyAttached) || mode.ExitCode(err) != mode.ExitStartFailed {
				t.Fatalf("Run: %v (exit %d), want ErrAlreadyAttached, ExitStartFailed", err, mode.ExitCode(err))
			}
		}},
		{"scrapes racing attaches and detaches", func(t *testing.T) {
			sup := metricsSup(supervisor.Spec{})
			if err := sup.Add(t.Context(), metricsIdle("a")); err != nil {
				t.Fatal(err)
			}
			if err := service.Start(t.Context(), sup); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = sup.Stop(context.Background()) }()
			m := &observe.Metrics{}
			reg := prometheus.NewRegistry()
			reg.MustRegister(m)
			var wg sync.WaitGroup
			wg.Go(func() {
				for range 200 {
					if d, err := m.Attach(sup); err == nil {
						d()
					}
				}
			})
			for range 200 {
				if _, err := reg.Gather(); err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait()
		}},
	} {
		t.Run(tc.name, tc.run)
	}
}

// TestMetricsLint: the metrics follow Prometheus's naming conventions
// (promlint), with every kind of series present.
func TestMetricsLint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &metricsTicking{every: time.Second}
		s.Configure(service.Config{Name: "ticker", Logger: &metricsQuiet})
		sup := metricsSup(supervisor.Spec{MaxRestarts: 100, Window: time.Hour})
		if err := sup.Add(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		m := &observe.Metrics{}
		metricsAttach(t, m, sup)
		events := metricsTapEvents(t, sup)
		if err := service.Start(t.Context(), sup); err != nil {
			t.Fatal(err)
		}
		s.Crash(errMetrics)
		metricsWaitFor(t, events, supervisor.ChildRestarted, "")
		problems, err := testutil.CollectAndLint(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
		if n := testutil.CollectAndCount(m, "mode_timer_runs_total", "mode_child_restarts_total", "mode_stop_duration_seconds"); n != 3 {
			t.Errorf("%d series of the timer, the child and the stops, want 3", n)
		}
		if err := sup.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
