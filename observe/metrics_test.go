package observe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
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
	"mode_abandoned":                  "Pieces of the service's code that a stop, a start or a health check gave up waiting for and that still run.",
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
			restarts: []string{`service="root/a" 3`},
			crashed:  []string{`service="root/a" 3`},
		},
		{
			name: "two children", crashes: []string{"a", "b", "a", "a", "b"},
			restarts: []string{`service="root/a" 3`, `service="root/b" 2`},
			crashed:  []string{`service="root/a" 3`, `service="root/b" 2`},
		},
		{
			name: "one for all", strategy: strategy.OneForAll, crashes: []string{"b", "b"},
			restarts: []string{`service="root/a" 2`, `service="root/b" 2`},
			crashed:  []string{`service="root/a" 0`, `service="root/b" 2`},
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
		metricsLines("mode_escalations_total", "counter", `service="root" 1`, `service="root/a" 0`)+
			metricsLines("mode_child_crashes_total", "counter", `service="root" 0`, `service="root/a" 3`)+
			metricsLines("mode_child_restarts_total", "counter", `service="root" 0`, `service="root/a" 2`),
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
		metricsLines("mode_child_restarts_total", "counter", `service="root/pool/w" 3`),
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
			metricsLines("mode_backoff_waits_total", "counter", `service="root/a" 3`)+
				metricsLines("mode_backoff_wait_seconds_total", "counter", `service="root/a" 7`),
			"mode_backoff_waits_total", "mode_backoff_wait_seconds_total")
	})
}
