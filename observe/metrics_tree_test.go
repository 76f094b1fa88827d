package observe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

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
				lbl := `service="ticker",timer="tick" `
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
		// The hook the stop abandoned still runs: a hang, until it returns.
		err := testutil.GatherAndCompare(reg, strings.NewReader(metricsLines("mode_abandoned", "gauge", `service="root/hung" 1`)), "mode_abandoned")
		close(h.release)
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		metricsCompare(t, reg, "", "mode_abandoned")
		metricsCompare(t, reg, metricsLines("mode_stop_timeouts_total", "counter",
			`service="root" 1`, `service="root/hung" 1`), "mode_stop_timeouts_total")
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
