package observe

import (
	"github.com/gomode/mode/service"
	"github.com/prometheus/client_golang/prometheus"
)

// Describe sends the descriptors of every metric Collect sends
// (prometheus.Collector).
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.init()
	d := &m.d
	for _, x := range []*prometheus.Desc{
		d.restarts, d.crashes, d.startFailures, d.backoffs, d.backoffSeconds, d.escalations,
		d.stopTimeouts, d.services, d.abandoned,
		d.timerRuns, d.timerFailures, d.timerSkipped, d.timerOverlaps, d.timerDrifts,
	} {
		ch <- x
	}
	m.stops.Describe(ch)
}

// Collect sends the metrics (prometheus.Collector): the counters kept
// since m was first attached, and what it reads from the attached trees
// now (services by state, timers). It does not wait for the trees'
// goroutines; a tree that changes while it reads is read as it is met.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.init()
	type pathSeries struct {
		path string
		s    *series
	}
	m.mu.Lock()
	all := make([]pathSeries, 0, len(m.byPath))
	for path, s := range m.byPath {
		all = append(all, pathSeries{path, s})
	}
	roots := make([]service.Service, len(m.roots))
	for i, p := range m.roots {
		roots[i] = p.root
	}
	m.mu.Unlock()

	d := &m.d
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	for _, x := range all {
		s := x.s
		counter(d.restarts, float64(s.restarts.Load()), x.path)
		counter(d.crashes, float64(s.crashes.Load()), x.path)
		counter(d.startFailures, float64(s.startFailures.Load()), x.path)
		counter(d.backoffs, float64(s.backoffs.Load()), x.path)
		counter(d.backoffSeconds, float64(s.backoffNanos.Load())/1e9, x.path)
		counter(d.escalations, float64(s.escalations.Load()), x.path)
		counter(d.stopTimeouts, float64(s.stopTimeouts.Load()), x.path)
	}
	ch <- m.stops

	var t treeReading
	for _, r := range roots {
		t.read(r)
	}
	for st, n := range t.states {
		ch <- prometheus.MustNewConstMetric(d.services, prometheus.GaugeValue, float64(n), service.State(st).String())
	}
	for _, k := range t.abandonedOrder {
		ch <- prometheus.MustNewConstMetric(d.abandoned, prometheus.GaugeValue, float64(t.abandoned[k]), k)
	}
	for _, k := range t.order {
		ts := t.timers[k]
		counter(d.timerRuns, float64(ts.Runs), k.path, k.name)
		counter(d.timerFailures, float64(ts.Failures), k.path, k.name)
		counter(d.timerSkipped, float64(ts.Skipped), k.path, k.name)
		counter(d.timerOverlaps, float64(ts.Overlaps), k.path, k.name)
		counter(d.timerDrifts, float64(ts.Drifts), k.path, k.name)
	}
}

// timerKey names a timer series: the service's path and the timer's name.
type timerKey struct{ path, name string }

// treeReading is what a scrape reads from the attached trees: how many
// services are in each state, and the timers' counters, added up by
// series (services that share a path, timers that share a name).
type treeReading struct {
	states [service.Crashed + 1]int
	timers map[timerKey]*service.TimerStats
	order  []timerKey
	// abandoned counts the pieces of code abandoned and still running,
	// by path, for the paths that have some.
	abandoned      map[string]int
	abandonedOrder []string
}

// read adds the tree under root.
func (t *treeReading) read(root service.Service) {
	walkTree(root, nil, func(s service.Service, path trail, _ bool) bool {
		if st := s.State(); st >= 0 && int(st) < len(t.states) {
			t.states[st]++
		}
		if a := service.Abandoned(s); len(a) > 0 {
			p := path.String()
			if t.abandoned == nil {
				t.abandoned = make(map[string]int)
			}
			if _, seen := t.abandoned[p]; !seen {
				t.abandonedOrder = append(t.abandonedOrder, p)
			}
			t.abandoned[p] += len(a)
		}
		if tm, ok := s.(timersOf); ok {
			var p string
			for _, ts := range tm.Timers() {
				if p == "" {
					p = path.String()
				}
				t.addTimer(timerKey{p, validUTF8(ts.Name)}, ts)
			}
		}
		return true
	})
}

func (t *treeReading) addTimer(k timerKey, ts service.TimerStats) {
	if t.timers == nil {
		t.timers = make(map[timerKey]*service.TimerStats)
	}
	sum := t.timers[k]
	if sum == nil {
		sum = new(service.TimerStats)
		t.timers[k] = sum
		t.order = append(t.order, k)
	}
	sum.Runs += ts.Runs
	sum.Failures += ts.Failures
	sum.Skipped += ts.Skipped
	sum.Overlaps += ts.Overlaps
	sum.Drifts += ts.Drifts
}
