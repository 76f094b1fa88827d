package observe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultNamespace is the namespace of the metrics of a Metrics whose
// Namespace is empty.
const DefaultNamespace = "mode"

// DefaultStopBuckets are the upper bounds, in seconds, of the stop
// duration histogram of a Metrics whose StopBuckets is nil.
var DefaultStopBuckets = []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics is a Prometheus collector for the trees it is attached to. It
// registers nothing by itself: attach it to a tree (Attach, or put it in
// a Worker's Extensions, which attaches it to the Worker's Service for the
// run) and register it on a registry of your own:
//
//	m := &observe.Metrics{}
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(m)
//	w := mode.Worker{Service: root, Extensions: []mode.Extension{m}}
//
// Its zero value is ready. Set its fields before its first use (Attach,
// Describe, Collect or WorkerPhase); later changes are ignored. It is safe
// for concurrent use.
//
// Its metrics, with the default namespace. A service is named, in the
// service label, by its path: the ShortLabel of each service from the top
// of its tree down to it, joined by "/" (for example "root/pool/conn"), as
// the page, /readyz and pprof's mode.service label name it. Children of
// one parent that share a name share a path: their counters add up. The label set stays
// bounded by the shape of the program (types and configured names), not by
// the number of services, crash reasons or child IDs: give services that
// come and go (a pool's connections) one name, not a name each. Labels
// that are not valid UTF-8 are mended with U+FFFD.
//
// Counted from the supervisors' events, as they happen (counters):
//
//	mode_child_restarts_total{service}     children started again by their supervisor (ChildRestarted)
//	mode_child_crashes_total{service}      children that crashed (ChildCrashed)
//	mode_child_start_failures_total{service} failed restart attempts (StartFailed)
//	mode_backoff_waits_total{service}      restarts delayed by a backoff (BackoffStarted)
//	mode_backoff_wait_seconds_total{service} the delays they were given
//	mode_escalations_total{service}        supervisors that gave up (MaxRestartsExceeded); service is the supervisor
//
// Counted from the stops of the services (service.StopObserver):
//
//	mode_stop_duration_seconds             histogram of the duration of every Stop (a restart's stop half included), of every service
//	mode_stop_timeouts_total{service}      stops that ran out of budget and abandoned code (errors.Is(err, service.ErrStopTimeout));
//	                                       a stop that times out below a service times its ancestors' stops out too
//
// Read from the tree at each scrape:
//
//	mode_services{state}                   services of the attached trees in each state ("init", "starting", "running", "stopping", "shutdown", "crashed")
//	mode_abandoned{service}                calls of the service's code that a stop, a start or a health check gave up waiting
//	                                       for and that still run (service.Abandoned): a hook, a Healthcheck, or the tasks
//	                                       of a run, counted once together; a hang (a Healthcheck a probe gave up on: slowness,
//	                                       until it has run observe.ProbeHangAfter); sent only for services that have some
//	mode_timer_runs_total{service,timer}   calls of the timer's fn that returned (service.TimerStats.Runs)
//	mode_timer_failures_total{service,timer} of which failed (Failures)
//	mode_timer_skipped_total{service,timer}  slots passed over (Skipped)
//	mode_timer_overlaps_total{service,timer} calls that overran their interval (Overlaps)
//	mode_timer_drifts_total{service,timer}   late wakes (Drifts)
//
// The timer counters are those of the service's current run: they start
// again from zero when the service restarts, which Prometheus's rate and
// increase read as a counter reset. The event and stop counters of a
// service that has left the tree stay (a service that comes back under
// the same path goes on counting), while mode_services and the timer
// metrics show the attached trees as they are at the scrape.
type Metrics struct {
	// Namespace prefixes every metric name. Default: DefaultNamespace
	// ("mode"). One that makes invalid names (not UTF-8) makes the
	// registration fail (prometheus.Registerer.Register's error); two
	// Metrics on one registry need different namespaces.
	Namespace string
	// StopBuckets are the buckets of the stop duration histogram, in
	// seconds. Default: DefaultStopBuckets.
	StopBuckets []float64

	once  sync.Once
	d     descs
	stops prometheus.Histogram

	mu     sync.Mutex
	roots  []*probe                        // attached trees, in attach order
	byPath map[string]*series              // counters by service path; never shrinks
	sups   map[*supervisor.Supervisor]*sup // path caches, dropped when the supervisor stops
	runs   map[service.Service]func()      // WorkerPhase's detaches, by root
}

// series holds the event counters of one service path. Its fields are
// updated with atomics on the engine's goroutines.
type series struct {
	restarts, crashes, startFailures, backoffs, escalations, stopTimeouts atomic.Uint64
	backoffNanos                                                          atomic.Int64
}

// sup caches the path of a supervisor and the series of its children (by
// their Label), so that a child's event finds its counters without making
// a path.
type sup struct {
	path string
	kids map[string]*series
}

type descs struct {
	restarts, crashes, startFailures, backoffs, backoffSeconds, escalations *prometheus.Desc
	stopTimeouts, services, abandoned                                       *prometheus.Desc
	timerRuns, timerFailures, timerSkipped, timerOverlaps, timerDrifts      *prometheus.Desc
}

func (m *Metrics) init() {
	m.once.Do(func() {
		ns := m.Namespace
		if ns == "" {
			ns = DefaultNamespace
		}
		svc, tmr := []string{"service"}, []string{"service", "timer"}
		d := func(name, help string, labels []string) *prometheus.Desc {
			return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, nil)
		}
		m.d = descs{
			restarts:       d("child_restarts_total", "Children started again by their supervisor.", svc),
			crashes:        d("child_crashes_total", "Children that crashed, as their supervisor saw it.", svc),
			startFailures:  d("child_start_failures_total", "Restart attempts that failed to start the child.", svc),
			backoffs:       d("backoff_waits_total", "Restarts delayed by the supervisor's backoff.", svc),
			backoffSeconds: d("backoff_wait_seconds_total", "Total delay given to restarts by the supervisor's backoff.", svc),
			escalations:    d("escalations_total", "Times the supervisor exceeded its restart intensity and gave up.", svc),
			stopTimeouts:   d("stop_timeouts_total", "Stops of the service that ran out of budget and abandoned code still running.", svc),
			services:       d("services", "Services of the attached trees in each state.", []string{"state"}),
			abandoned:      d("abandoned", "Pieces of the service's code that a stop, a start or a health check gave up waiting for and that still run.", svc),
			timerRuns:      d("timer_runs_total", "Calls of the timer's function that returned, in the service's current run.", tmr),
			timerFailures:  d("timer_failures_total", "Calls of the timer's function that failed, in the service's current run.", tmr),
			timerSkipped:   d("timer_skipped_total", "Timer slots passed over because a wake was late or a call overran, in the service's current run.", tmr),
			timerOverlaps:  d("timer_overlaps_total", "Timer calls that ran longer than the interval, in the service's current run.", tmr),
			timerDrifts:    d("timer_drifts_total", "Timer wakes later than the timer's maximal drift, in the service's current run.", tmr),
		}
		buckets := m.StopBuckets
		if buckets == nil {
			buckets = DefaultStopBuckets
		}
		m.stops = prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Name: "stop_duration_seconds",
			Help:    "Duration of the stops of the services of the attached trees (a restart's stop half included).",
			Buckets: buckets,
		})
	})
}

// Attach attaches m to the tree under root (root and every service below
// it, those added later included) until detach is called: from then on m
// counts the tree's supervisor events and stops, and its scrapes read the
// tree. detach is idempotent and safe for concurrent use; the counters
// stay after it, the tree's state and timers leave the scrapes.
//
// Attach returns an error wrapping service.ErrNilService for a nil root,
// and ErrAlreadyAttached when root, one of its ancestors or one of its
// descendants is attached to m already (m would count their events
// twice). The check is made at the call: a tree attached and then added
// below another attached tree is counted twice; attach the top of the
// tree, once.
func (m *Metrics) Attach(root service.Service) (detach func(), err error) {
	m.init()
	p := &probe{m: m, root: root}
	if err := m.addRoot(p); err != nil {
		return nil, err
	}
	undo, err := service.Observe(root, p)
	if err != nil {
		m.dropRoot(p)
		return nil, fmt.Errorf("observe: Metrics.Attach: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			undo()
			m.dropRoot(p)
		})
	}, nil
}

// addRoot records p's root, refusing a root that overlaps one attached.
func (m *Metrics) addRoot(p *probe) error {
	if isNilService(p.root) {
		return fmt.Errorf("observe: Metrics.Attach: %w", service.ErrNilService)
	}
	n := p.root.Node()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, q := range m.roots {
		if qn := q.root.Node(); slices.Contains(n.Path(), qn) || slices.Contains(qn.Path(), n) {
			return fmt.Errorf("observe: Metrics.Attach %s: %w (%s)", p.root.Label(), ErrAlreadyAttached, q.root.Label())
		}
	}
	m.roots = append(m.roots, p)
	return nil
}

// dropRoot forgets p's root, and the path caches: they fill again as
// events come.
func (m *Metrics) dropRoot(p *probe) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roots = slices.DeleteFunc(m.roots, func(q *probe) bool { return q == p })
	m.sups = nil
}

// WorkerPhase makes m a mode.Extension: at StepStarting it attaches m to
// the Worker's Service (p.Root), at StepStopped it detaches it. It
// returns Attach's errors at StepStarting and nil at the other steps.
func (m *Metrics) WorkerPhase(_ context.Context, p mode.Phase) error {
	switch p.Step {
	case mode.StepStarting:
		detach, err := m.Attach(p.Root)
		if err != nil {
			return err
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.runs == nil {
			m.runs = make(map[service.Service]func())
		}
		m.runs[p.Root] = detach
	case mode.StepStopped:
		m.mu.Lock()
		detach := m.runs[p.Root]
		delete(m.runs, p.Root)
		m.mu.Unlock()
		if detach != nil {
			detach()
		}
	}
	return nil
}

var _ mode.Extension = (*Metrics)(nil)
var _ prometheus.Collector = (*Metrics)(nil)

// probe is the observer Attach attaches to one tree.
type probe struct {
	m    *Metrics
	root service.Service
}

var _ service.StateFilter = (*probe)(nil)

// ObservedStates is Shutdown: the only change StateChanged acts on.
func (*probe) ObservedStates() []service.State { return []service.State{service.Shutdown} }

// StateChanged drops the path cache of a supervisor that has stopped (it
// may be gone for good; a restarted one fills it again).
func (p *probe) StateChanged(s service.Service, _, to service.State) {
	if to != service.Shutdown {
		return
	}
	if sv, ok := s.(*supervisor.Supervisor); ok {
		p.m.mu.Lock()
		defer p.m.mu.Unlock()
		delete(p.m.sups, sv)
	}
}

// SupervisorEvent counts e.
func (p *probe) SupervisorEvent(sv *supervisor.Supervisor, e supervisor.Event) {
	switch e.Kind {
	case supervisor.ChildRestarted:
		p.m.child(sv, e).restarts.Add(1)
	case supervisor.ChildCrashed:
		p.m.child(sv, e).crashes.Add(1)
	case supervisor.StartFailed:
		p.m.child(sv, e).startFailures.Add(1)
	case supervisor.BackoffStarted:
		s := p.m.child(sv, e)
		s.backoffs.Add(1)
		s.backoffNanos.Add(int64(e.Delay))
	case supervisor.MaxRestartsExceeded:
		p.m.series(p.m.supOf(sv).path).escalations.Add(1)
	}
}

// Stopped times the stop and counts a stop that timed out.
func (p *probe) Stopped(s service.Service, took time.Duration, err error) {
	p.m.stops.Observe(took.Seconds())
	if err != nil && errors.Is(err, service.ErrStopTimeout) {
		p.m.series(pathOf(s.Node())).stopTimeouts.Add(1)
	}
}

// child returns the series of the child e names, found by its label (the
// path of a child is its supervisor's and its ShortLabel: the same for
// every child of one label).
func (m *Metrics) child(sv *supervisor.Supervisor, e supervisor.Event) *series {
	label := e.Label
	m.mu.Lock()
	if c := m.sups[sv]; c != nil {
		if s := c.kids[label]; s != nil {
			m.mu.Unlock()
			return s
		}
	}
	m.mu.Unlock()
	c := m.supOf(sv)
	name := label // a child already gone: its label
	if cs := sv.Child(e.Child); cs != nil {
		name = cs.ShortLabel()
	}
	s := m.series(c.path + "/" + validUTF8(name))
	m.mu.Lock()
	defer m.mu.Unlock()
	c.kids[label] = s
	return s
}

// supOf returns sv's cache, making it (and its path) on first sight.
func (m *Metrics) supOf(sv *supervisor.Supervisor) *sup {
	m.mu.Lock()
	c := m.sups[sv]
	m.mu.Unlock()
	if c != nil {
		return c
	}
	path := pathOf(sv.Node()) // outside m.mu: it reads the labels of the tree
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.sups[sv]; c != nil {
		return c
	}
	c = &sup{path: path, kids: make(map[string]*series)}
	if m.sups == nil {
		m.sups = make(map[*supervisor.Supervisor]*sup)
	}
	m.sups[sv] = c
	return c
}

// series returns the counters of path, making them on first sight.
func (m *Metrics) series(path string) *series {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.byPath[path]
	if s == nil {
		s = new(series)
		if m.byPath == nil {
			m.byPath = make(map[string]*series)
		}
		m.byPath[path] = s
	}
	return s
}
