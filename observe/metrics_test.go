package observe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"
)

var (
	metricsQuiet = zerolog.Nop()
	errMetrics   = errors.New("boom")
)

// metricsSup makes a quiet supervisor named root.
func metricsSup(spec supervisor.Spec) *supervisor.Supervisor {
	spec.Service.Name, spec.Service.Logger = "root", &metricsQuiet
	return supervisor.New(spec)
}

// metricsIdle makes a quiet Func that runs until stopped.
func metricsIdle(name string) *service.FuncService {
	f := service.Func(name, func(ctx context.Context) error { <-ctx.Done(); return nil })
	f.Configure(service.Config{Logger: &metricsQuiet})
	return f
}

// metricsTap is a test observer handing the supervisor events of a tree to a
// channel.
type metricsTap struct{ ch chan supervisor.Event }

func (metricsTap) StateChanged(service.Service, service.State, service.State) {}

func (t metricsTap) SupervisorEvent(_ *supervisor.Supervisor, e supervisor.Event) {
	select {
	case t.ch <- e:
	default:
		panic("tap: channel full") // detaches the tap: the test then times out naming it
	}
}

// metricsTapEvents attaches a metricsTap to root until the test ends.
func metricsTapEvents(t *testing.T, root service.Service) <-chan supervisor.Event {
	t.Helper()
	tp := metricsTap{ch: make(chan supervisor.Event, 1024)}
	detach, err := service.Observe(root, tp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(detach)
	return tp.ch
}

// metricsWaitFor reads events until one of kind for child label comes.
func metricsWaitFor(t *testing.T, ch <-chan supervisor.Event, kind supervisor.EventKind, label string) supervisor.Event {
	t.Helper()
	watchdog := time.NewTimer(10 * time.Second)
	defer watchdog.Stop()
	for {
		select {
		case e := <-ch:
			if e.Kind == kind && (label == "" || e.Label == label) {
				return e
			}
		case <-watchdog.C:
			t.Fatalf("no %s event for %q", kind, label)
		}
	}
}

// metricsAttach attaches m to root and registers it on a fresh registry; both
// undone when the test ends.
func metricsAttach(t *testing.T, m *observe.Metrics, root service.Service) *prometheus.Registry {
	t.Helper()
	detach, err := m.Attach(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(detach)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	return reg
}

// metricsLines renders the expected samples of one metric for
// testutil.GatherAndCompare: lines are "labels value", labels in
// Prometheus's text form without braces.
func metricsLines(name, typ string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, metricsHelp[name], name, typ)
	for _, l := range lines {
		lbl, v, _ := strings.Cut(l, " ")
		fmt.Fprintf(&b, "%s{%s} %s\n", name, lbl, v)
	}
	return b.String()
}

var metricsHelp = map[string]string{
	"mode_child_restarts_total":       "Children started again by their supervisor.",
	"mode_child_crashes_total":        "Children that crashed, as their supervisor saw it.",
	"mode_child_start_failures_total": "Restart attempts that failed to start the child.",
	"mode_backoff_waits_total":        "Restarts delayed by the supervisor's backoff.",
	"mode_backoff_wait_seconds_total": "Total delay given to restarts by the supervisor's backoff.",
	"mode_escalations_total":          "Times the supervisor exceeded its restart intensity and gave up.",
	"mode_stop_timeouts_total":        "Stops of the service that ran out of budget and abandoned code still running.",
	"mode_services":                   "Services of the attached trees in each state.",
	"mode_timer_runs_total":           "Calls of the timer's function that returned, in the service's current run.",
	"mode_timer_overlaps_total":       "Timer calls that ran longer than the interval, in the service's current run.",
	"mode_timer_skipped_total":        "Timer slots passed over because a wake was late or a call overran, in the service's current run.",
}

// metricsCompare compares the named metrics gathered from reg with want.
func metricsCompare(t *testing.T, reg *prometheus.Registry, want string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

// TestMetricsCrashes: after a scripted sequence of crashes, the restart
// and crash counters of each child (by path) are the number of its
// crashes and restarts; under OneForAll a crash restarts the siblings
// too.
func TestMetricsCrashes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy strategy.Strategy
		crashes  []string // children to crash, in order
		restarts []string // "service=... n" lines
		crashed  []string
	}{
		{
			name: "one child thrice", crashes: []string{"a", "a", "a"},
			restarts: []string{`service="Supervisor(root)/a" 3`},
			crashed:  []string{`service="Supervisor(root)/a" 3`},
		},
		{
			name: "two children", crashes: []string{"a", "b", "a", "a", "b"},
			restarts: []string{`service="Supervisor(root)/a" 3`, `service="Supervisor(root)/b" 2`},
			crashed:  []string{`service="Supervisor(root)/a" 3`, `service="Supervisor(root)/b" 2`},
		},
		{
			name: "one for all", strategy: strategy.OneForAll, crashes: []string{"b", "b"},
			restarts: []string{`service="Supervisor(root)/a" 2`, `service="Supervisor(root)/b" 2`},
			crashed:  []string{`service="Supervisor(root)/a" 0`, `service="Supervisor(root)/b" 2`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sup := metricsSup(supervisor.Spec{Strategy: tc.strategy, MaxRestarts: 100, Window: time.Hour})
			kids := map[string]*service.FuncService{"a": metricsIdle("a"), "b": metricsIdle("b")}
			for _, n := range []string{"a", "b"} {
				if err := sup.Add(t.Context(), kids[n]); err != nil {
					t.Fatal(err)
				}
			}
			m := &observe.Metrics{}
			reg := metricsAttach(t, m, sup)
			events := metricsTapEvents(t, sup)
			if err := service.Start(t.Context(), sup); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.crashes {
				kids[n].Crash(errMetrics)
				metricsWaitFor(t, events, supervisor.ChildRestarted, n)
			}
			// The stop is the barrier: every event has been counted.
			if err := sup.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			metricsCompare(t, reg,
				metricsLines("mode_child_restarts_total", "counter", tc.restarts...)+
					metricsLines("mode_child_crashes_total", "counter", tc.crashed...),
				"mode_child_restarts_total", "mode_child_crashes_total")
		})
	}
}

// TestMetricsEscalation: a supervisor whose child crashes past its
// intensity gives up: one escalation, counted on the supervisor's path,
// with the child's crashes and restarts before it.
func TestMetricsEscalation(t *testing.T) {
	sup := metricsSup(supervisor.Spec{MaxRestarts: 2, Window: time.Hour})
	a := metricsIdle("a")
	if err := sup.Add(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	m := &observe.Metrics{}
	reg := metricsAttach(t, m, sup)
	events := metricsTapEvents(t, sup)
	if err := service.Start(t.Context(), sup); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		a.Crash(errMetrics)
		metricsWaitFor(t, events, supervisor.ChildRestarted, "a")
	}
	a.Crash(errMetrics)
	metricsWaitFor(t, events, supervisor.MaxRestartsExceeded, "")
	_ = sup.Stop(context.Background()) // the crash of the root: not this test's matter
	metricsCompare(t, reg,
		metricsLines("mode_escalations_total", "counter", `service="Supervisor(root)" 1`, `service="Supervisor(root)/a" 0`)+
			metricsLines("mode_child_crashes_total", "counter", `service="Supervisor(root)" 0`, `service="Supervisor(root)/a" 3`)+
			metricsLines("mode_child_restarts_total", "counter", `service="Supervisor(root)" 0`, `service="Supervisor(root)/a" 2`),
		"mode_escalations_total", "mode_child_crashes_total", "mode_child_restarts_total")
}

// TestMetricsNestedPath: a child of a nested supervisor is counted under
// its full path, and children sharing a label share one series.
func TestMetricsNestedPath(t *testing.T) {
	root := metricsSup(supervisor.Spec{MaxRestarts: 100, Window: time.Hour})
	pool := supervisor.New(supervisor.Spec{Service: service.Config{Name: "pool", Logger: &metricsQuiet}, MaxRestarts: 100, Window: time.Hour})
	w1, w2 := metricsIdle("w"), metricsIdle("w") // two children labelled alike
	for _, add := range []struct {
		to  *supervisor.Supervisor
		svc service.Service
		id  string
	}{{root, pool, "pool"}, {pool, w1, "w1"}, {pool, w2, "w2"}} {
		if err := add.to.Add(t.Context(), add.svc, supervisor.ChildSpec{ID: add.id}); err != nil {
			t.Fatal(err)
		}
	}
	m := &observe.Metrics{}
	reg := metricsAttach(t, m, root)
	events := metricsTapEvents(t, root)
	if err := service.Start(t.Context(), root); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*service.FuncService{w1, w2, w1} {
		w.Crash(errMetrics)
		metricsWaitFor(t, events, supervisor.ChildRestarted, "w")
	}
	if err := root.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	metricsCompare(t, reg,
		metricsLines("mode_child_restarts_total", "counter", `service="Supervisor(root)/Supervisor(pool)/w" 3`),
		"mode_child_restarts_total")
}

// TestMetricsBackoff: restarts delayed by a backoff are counted with
// their delays (in a synctest bubble: the delays pass in fake time).
func TestMetricsBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := metricsSup(supervisor.Spec{
			MaxRestarts: 100, Window: time.Hour,
			Backoff: strategy.Backoff{Min: time.Second, Max: 8 * time.Second, Factor: 2, NoJitter: true, ResetAfter: time.Hour},
		})
		a := metricsIdle("a")
		if err := sup.Add(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		m := &observe.Metrics{}
		reg := metricsAttach(t, m, sup)
		events := metricsTapEvents(t, sup)
		if err := service.Start(t.Context(), sup); err != nil {
			t.Fatal(err)
		}
		for range 3 { // delays 1s, 2s, 4s
			a.Crash(errMetrics)
			metricsWaitFor(t, events, supervisor.ChildRestarted, "a")
		}
		if err := sup.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		metricsCompare(t, reg,
			metricsLines("mode_backoff_waits_total", "counter", `service="Supervisor(root)/a" 3`)+
				metricsLines("mode_backoff_wait_seconds_total", "counter", `service="Supervisor(root)/a" 7`),
			"mode_backoff_waits_total", "mode_backoff_wait_seconds_total")
	})
}

// metricsTicking is a service with one Every timer whose calls take work.
type metricsTicking struct {
	service.Base
	every, work time.Duration
}

func (s *metricsTicking) OnStart(context.Context) error {
	return s.Every(s.every, func(context.Context) error {
		time.Sleep(s.work)
		return nil
	}, service.Named("tick"))
}

// TestMetricsTimers: a timer's runs, overlaps and skipped slots are read
// from the tree at the scrape (synctest: 10.5s of fake time).
func TestMetricsTimers(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		work                    time.Duration
		runs, overlaps, skipped int
	}{
		{name: "on time", work: 0, runs: 10},
		// Each call takes 2.5s of a 1s interval. The call for slot 1 ends
		// at 3.5: the one for slot 3 runs at once, slot 2 is skipped; it
		// ends at 6: slot 6 runs, 4 and 5 are skipped; it ends at 8.5:
		// slot 8 runs (until 11), 7 is skipped. Three calls returned,
		// each overran.
		{name: "overrunning", work: 2500 * time.Millisecond, runs: 3, overlaps: 3, skipped: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &metricsTicking{every: time.Second, work: tc.work}
				s.Configure(service.Config{Name: "ticker", Logger: &metricsQuiet})
				m := &observe.Metrics{}
				reg := metricsAttach(t, m, s)
				if err := service.Start(t.Context(), s); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10*time.Second + 500*time.Millisecond)
				synctest.Wait()
				lbl := `service="metricsTicking(ticker)",timer="tick" `
				cmpErr := testutil.GatherAndCompare(reg, strings.NewReader(
					metricsLines("mode_timer_runs_total", "counter", lbl+fmt.Sprint(tc.runs))+
						metricsLines("mode_timer_overlaps_total", "counter", lbl+fmt.Sprint(tc.overlaps))+
						metricsLines("mode_timer_skipped_total", "counter", lbl+fmt.Sprint(tc.skipped))),
					"mode_timer_runs_total", "mode_timer_overlaps_total", "mode_timer_skipped_total")
				if err := s.Stop(context.Background()); err != nil { // before failing: nothing outlives the bubble
					t.Fatal(err)
				}
				if cmpErr != nil {
					t.Fatal(cmpErr)
				}
			})
		})
	}
}

// metricsHungStop is a service whose OnStop hangs until released.
type metricsHungStop struct {
	service.Base
	release chan struct{}
}

func (s *metricsHungStop) OnStop(context.Context) error { <-s.release; return nil }

// metricsGatherOne returns the one metric of family name gathered from reg.
func metricsGatherOne(t *testing.T, reg *prometheus.Registry, name string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			if len(mf.GetMetric()) != 1 {
				t.Fatalf("%s: %d metrics, want 1", name, len(mf.GetMetric()))
			}
			return mf.GetMetric()[0]
		}
	}
	t.Fatalf("%s not gathered", name)
	return nil
}

// TestMetricsStops: every stop is timed in the histogram; a stop that
// runs out of budget is counted on the hung service's path and on each
// ancestor whose stop it timed out (synctest: the budget passes in fake
// time, so the durations are exact).
func TestMetricsStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &metricsHungStop{release: make(chan struct{})}
		h.Configure(service.Config{Name: "hung", Logger: &metricsQuiet})
		sup := metricsSup(supervisor.Spec{})
		for _, c := range []service.Service{metricsIdle("a"), h} {
			if err := sup.Add(t.Context(), c, supervisor.ChildSpec{ShutdownTimeout: 3 * time.Second}); err != nil {
				t.Fatal(err)
			}
		}
		m := &observe.Metrics{StopBuckets: []float64{1, 5}}
		reg := metricsAttach(t, m, sup)
		if err := service.Start(t.Context(), sup); err != nil {
			t.Fatal(err)
		}
		if err := sup.Stop(context.Background()); !errors.Is(err, service.ErrStopTimeout) {
			t.Fatalf("Stop: %v, want ErrStopTimeout", err)
		}
		close(h.release)
		synctest.Wait()
		metricsCompare(t, reg, metricsLines("mode_stop_timeouts_total", "counter",
			`service="Supervisor(root)" 1`, `service="Supervisor(root)/metricsHungStop(hung)" 1`), "mode_stop_timeouts_total")
		hist := metricsGatherOne(t, reg, "mode_stop_duration_seconds").GetHistogram()
		// Three stops: a at once, hung after its 3s (and a grace of a few
		// milliseconds), the root after both.
		if n, sum := hist.GetSampleCount(), hist.GetSampleSum(); n != 3 || sum < 6 || sum > 6.5 {
			t.Fatalf("histogram: %d stops taking %vs, want 3 taking 6s", n, sum)
		}
		if b := hist.GetBucket(); b[0].GetCumulativeCount() != 1 || b[1].GetCumulativeCount() != 3 {
			t.Fatalf("buckets %v, want 1 stop under 1s and 3 under 5s", b)
		}
	})
}

// TestMetricsServicesByState: the state gauge reads the attached tree at
// each scrape.
func TestMetricsServicesByState(t *testing.T) {
	states := func(init, starting, running, stopping, shutdown, crashed int) string {
		return metricsLines("mode_services", "gauge",
			fmt.Sprintf(`state="crashed" %d`, crashed), fmt.Sprintf(`state="init" %d`, init),
			fmt.Sprintf(`state="running" %d`, running), fmt.Sprintf(`state="shutdown" %d`, shutdown),
			fmt.Sprintf(`state="starting" %d`, starting), fmt.Sprintf(`state="stopping" %d`, stopping))
	}
	for _, tc := range []struct {
		name string
		step func(t *testing.T, sup *supervisor.Supervisor, crasher *service.FuncService, detach func())
		want string
	}{
		{name: "not started", step: func(*testing.T, *supervisor.Supervisor, *service.FuncService, func()) {}, want: states(4, 0, 0, 0, 0, 0)},
		{name: "running", step: metricsStart, want: states(0, 0, 4, 0, 0, 0)},
		{name: "a child crashed for good", step: func(t *testing.T, sup *supervisor.Supervisor, c *service.FuncService, _ func()) {
			events := metricsTapEvents(t, sup)
			metricsStart(t, sup, c, nil)
			c.Crash(errMetrics) // Temporary: not restarted, removed from the tree
			metricsWaitFor(t, events, supervisor.ChildRemoved, "c")
		}, want: states(0, 0, 3, 0, 0, 0)},
		{name: "the root crashed", step: func(t *testing.T, sup *supervisor.Supervisor, c *service.FuncService, _ func()) {
			metricsStart(t, sup, c, nil)
			sup.Crash(errMetrics) // crashes the subtree
			sup.Node().Walk(func(n *graph.Node, _ int) bool {
				<-n.Value().(service.Service).Done()
				return true
			})
		}, want: states(0, 0, 0, 0, 0, 4)},
		{name: "stopped", step: func(t *testing.T, sup *supervisor.Supervisor, c *service.FuncService, _ func()) {
			metricsStart(t, sup, c, nil)
			if err := sup.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		}, want: states(0, 0, 0, 0, 4, 0)},
		{name: "detached", step: func(t *testing.T, sup *supervisor.Supervisor, c *service.FuncService, detach func()) {
			metricsStart(t, sup, c, nil)
			detach()
		}, want: states(0, 0, 0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sup := metricsSup(supervisor.Spec{})
			c := metricsIdle("c")
			for _, add := range []struct {
				svc  service.Service
				spec supervisor.ChildSpec
			}{{metricsIdle("a"), supervisor.ChildSpec{}}, {metricsIdle("b"), supervisor.ChildSpec{}}, {c, supervisor.ChildSpec{Restart: strategy.Temporary}}} {
				if err := sup.Add(t.Context(), add.svc, add.spec); err != nil {
					t.Fatal(err)
				}
			}
			m := &observe.Metrics{}
			detach, err := m.Attach(sup)
			if err != nil {
				t.Fatal(err)
			}
			defer detach()
			reg := prometheus.NewRegistry()
			reg.MustRegister(m)
			tc.step(t, sup, c, detach)
			metricsCompare(t, reg, tc.want, "mode_services")
			_ = sup.Stop(context.Background())
		})
	}
}

// metricsStart starts sup (a step of TestMetricsServicesByState).
func metricsStart(t *testing.T, sup *supervisor.Supervisor, _ *service.FuncService, _ func()) {
	t.Helper()
	if err := service.Start(t.Context(), sup); err != nil {
		t.Fatal(err)
	}
}

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
					if got := mf.GetMetric()[0].GetLabel()[0].GetValue(); got != "Supervisor(root)/metricsTicking(bad\uFFFDname)" {
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
