package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// Health probes. Liveness asks "should this process be restarted?": only
// when the tree has crashed to its root (a root crash ends a Worker's run,
// so the process is on its way out) or user code hangs: a hook or task
// that a Stop or a Start stopped waiting for and that still runs, or a
// Healthcheck still running ProbeHangAfter after a probe gave up on it
// (service.Abandoned). A child crashing and restarting
// below the root is the supervisors' business, not a liveness failure.
// Readiness asks "should this process get traffic?": every service Running
// and its Healthcheck passing, and nothing hung.

// ProbeHangAfter is how long a Healthcheck that a probe gave up on
// (slower than the probe's timeout) may go on running before liveness
// calls it a hang. Until then it is slowness, a readiness failure: a slow
// dependency must not get the process restarted.
const ProbeHangAfter = time.Minute

// DefaultProbeTimeout bounds a readiness check when the caller's ctx has
// no earlier deadline (Readiness, and /readyz without ?timeout).
const DefaultProbeTimeout = 5 * time.Second

// minProbeTimeout and maxProbeTimeout bound /readyz?timeout=: below a
// second (Kubernetes' least timeoutSeconds), any client could make a probe
// give up on a Healthcheck that passes, and every probe fail while it
// runs on (see Readiness).
const (
	minProbeTimeout = time.Second
	maxProbeTimeout = time.Minute
)

// healthWorkers bounds the Healthchecks a readiness check runs at once.
const healthWorkers = 8

// Report is the answer of a liveness or readiness check, as a Handler's
// /healthz (Liveness) and /readyz (Readiness) send it, in JSON, with
// status 200 when it passed and 503 when not (what Kubernetes' probes
// expect):
//
//	{"status":"fail","failures":[{"service":"root/db","state":"starting","error":"not running"}]}
//
// Both endpoints take ?verbose, which adds "services", every service
// checked. /readyz takes ?timeout=<Go duration> ("2s"), the bound of its
// Healthchecks (default DefaultProbeTimeout, at least a second, at most a
// minute; a bad value is a 400); the request's end bounds them too.
// Concurrent /readyz requests share one check, which runs until the
// latest of their timeouts, or until every one of them has ended.
//
// A Report decoded from JSON counts as a liveness Report for Err.
type Report struct {
	// Status is "ok" when the check passed, else "fail".
	Status string `json:"status"`
	// Failures names what failed, in tree order (depth first), each
	// service by its path from the root: "root/db". Empty when Status is
	// "ok".
	Failures []Check `json:"failures,omitempty"`
	// Services lists every service checked, passing or not, in tree
	// order. The endpoints send it only with ?verbose.
	Services []Check `json:"services,omitempty"`

	ready bool // a readiness check (Err's sentinel)
}

// Check is one service's result in a Report.
type Check struct {
	// Service is the service's path from the root, made of ShortLabels:
	// "root/api/cache".
	Service string `json:"service"`
	// State is the service's state when checked ("running", "crashed"...).
	State string `json:"state"`
	// Error says what is wrong; empty for a passing service.
	Error string `json:"error,omitempty"`
}

// OK reports whether the check passed.
func (r Report) OK() bool { return r.Status == statusOK }

// Err returns nil when the check passed; otherwise ErrNotLive (a liveness
// Report) or ErrNotReady (a readiness Report), wrapped with the failures.
func (r Report) Err() error {
	if r.OK() {
		return nil
	}
	sentinel := ErrNotLive
	if r.ready {
		sentinel = ErrNotReady
	}
	parts := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		parts[i] = fmt.Sprintf("%s (%s): %s", f.Service, f.State, f.Error)
	}
	return fmt.Errorf("%w: %s", sentinel, strings.Join(parts, "; "))
}

const (
	statusOK   = "ok"
	statusFail = "fail"
)

// Healthy reports whether the tree under root is live: nil when root has
// not crashed and no user code of the tree hangs (see Liveness);
// otherwise ErrNotLive naming each failure, wrapped once. It calls no user
// code and waits for nothing (a snapshot, safe while the tree runs and
// while hooks hang), so it suits a watchdog's ping loop. It returns ctx's
// error, wrapped, when ctx has ended, and ErrNotLive wrapping
// service.ErrNilService for a nil root.
func Healthy(ctx context.Context, root service.Service) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("observe: liveness not checked: %w", err)
	}
	if isNilService(root) {
		return fmt.Errorf("%w: %w", ErrNotLive, service.ErrNilService)
	}
	w := walker{lean: true}
	w.live(root)
	return w.report(false).Err()
}

// Liveness checks that the tree under root is live: root is not Crashed,
// and no service of the tree runs user code abandoned by a Stop or a
// Start (service.Abandoned): a hook or task that outlived its budget and
// still runs is a hang, and so is a Healthcheck still running
// ProbeHangAfter after a probe gave up on it (before that it is slow: a
// readiness failure). Starting, Stopping and
// crashed-and-restarting services below the root are live. It calls no
// user code and does not wait; ctx is not used yet (liveness reads
// snapshots only). A nil root fails.
func Liveness(ctx context.Context, root service.Service) Report {
	var w walker
	if isNilService(root) {
		return w.noRoot(false)
	}
	w.live(root)
	return w.report(false)
}

// Readiness checks that the tree under root is ready: every service
// Running and its Healthcheck passing (service.CheckHealth, several at
// once), and nothing hung (see Liveness). A service that is not Running is
// reported and its subtree is not checked further; one that runs abandoned
// code fails without its Healthcheck being called (a hung Healthcheck is
// not called again beside itself at every probe). Children that are gone
// for good do not count: a supervisor's child terminated by Terminate, or
// a non-Permanent child that has exited (Shutdown); but code of theirs
// that their stop abandoned and that still runs is a hang, for readiness
// and liveness alike.
//
// The Healthchecks run under ctx, bounded by DefaultProbeTimeout if ctx
// has no earlier deadline; one still running when ctx ends fails
// ("healthcheck did not return") and is left running by CheckHealth,
// which remembers it as abandoned: until it returns, liveness fails too.
// Give a probe a timeout above the Healthchecks' worst case. Readiness
// returns once every check has returned or been abandoned; it starts no
// goroutine that outlives it. A nil root fails.
func Readiness(ctx context.Context, root service.Service) Report {
	var w walker
	if isNilService(root) {
		return w.noRoot(true)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultProbeTimeout)
		defer cancel()
	}
	w.ready(root)
	w.checkHealth(ctx)
	return w.report(true)
}

// walker collects one check's results.
type walker struct {
	lean   bool // failures only: no entries for passing services
	checks []Check
	failed []bool            // per check
	health []service.Service // per check: run CheckHealth on it (nil: no)
}

func (w *walker) add(path trail, st service.State, err string) {
	w.checks = append(w.checks, Check{Service: path.String(), State: st.String(), Error: err})
	w.failed = append(w.failed, err != "")
	w.health = append(w.health, nil)
}

// abandoned adds a failure for each piece of s's abandoned user code: for
// liveness (live), only the hangs: what a Stop or a Start gave up on, and
// a Healthcheck a probe gave up on once it has run for ProbeHangAfter.
func (w *walker) abandoned(s service.Service, path trail, st service.State, live bool) {
	for _, c := range service.Abandoned(s) {
		switch {
		case !c.Probe || c.For >= ProbeHangAfter:
			w.add(path, st, "hung: abandoned, still running: "+c.What)
		case !live:
			w.add(path, st, "slow: still running after a probe gave up on it: "+c.What)
		}
	}
}

// live walks the tree for Liveness.
func (w *walker) live(root service.Service) {
	walkTree(root, goneChildren, func(s service.Service, path trail, gone bool) bool {
		st := s.State()
		n := len(w.checks)
		if s == root && st == service.Crashed {
			w.add(path, st, crashText(s))
		}
		w.abandoned(s, path, st, true) // gone for good or not: a hang
		if len(w.checks) == n && !w.lean && !gone {
			w.add(path, st, "")
		}
		return true
	})
}

// ready walks the tree for Readiness, marking the Running services for
// CheckHealth.
func (w *walker) ready(root service.Service) {
	walkTree(root, goneChildren, func(s service.Service, path trail, gone bool) bool {
		st := s.State()
		if gone { // its state does not count; a hang of its code does
			w.abandoned(s, path, st, true)
			return true
		}
		n := len(w.checks)
		w.abandoned(s, path, st, false)
		hung := len(w.checks) > n
		switch st {
		case service.Running:
			w.add(path, st, "")
			if !hung { // else it fails already; a hung Healthcheck is not called again beside itself
				w.health[len(w.health)-1] = s
			}
			return true
		case service.Crashed:
			w.add(path, st, crashText(s))
		default:
			w.add(path, st, "not running")
		}
		return false
	})
}

// checkHealth runs CheckHealth on the marked services, healthWorkers at a
// time, and joins them.
func (w *walker) checkHealth(ctx context.Context) {
	var todo []int
	for i, s := range w.health {
		if s != nil {
			todo = append(todo, i)
		}
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(healthWorkers, len(todo)) {
		wg.Go(func() {
			for i := range next {
				if err := service.CheckHealth(ctx, w.health[i]); err != nil {
					w.checks[i].Error = reasonText(err)
					w.checks[i].State = w.health[i].State().String()
					w.failed[i] = true
				}
			}
		})
	}
	for _, i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
}

func (w *walker) report(ready bool) Report {
	r := Report{Status: statusOK, Services: w.checks, ready: ready}
	for i, c := range w.checks {
		if w.failed[i] {
			r.Failures = append(r.Failures, c)
		}
	}
	if len(r.Failures) > 0 {
		r.Status = statusFail
	}
	return r
}

func (w *walker) noRoot(ready bool) Report {
	return failed(Check{Error: service.ErrNilService.Error()}, ready)
}

// failed is a Report that fails on c alone.
func failed(c Check, ready bool) Report {
	return Report{Status: statusFail, Failures: []Check{c}, Services: []Check{c}, ready: ready}
}

// crashText is the error of a Crashed service.
func crashText(s service.Service) string {
	if r := s.CrashReason(); r != nil {
		return "crashed: " + reasonText(r)
	}
	return "crashed"
}

// childLister is a supervisor, as walk sees it.
type childLister interface {
	Children() []supervisor.ChildInfo
	Child(id string) service.Service
}

// goneChildren returns s's children that will not run again (for a
// supervisor), or nil.
func goneChildren(s service.Service) map[service.Service]bool {
	sup, ok := s.(childLister)
	if !ok {
		return nil
	}
	var gone map[service.Service]bool
	for _, c := range sup.Children() {
		if c.Terminated || (c.State == service.Shutdown && c.Restart != strategy.Permanent) {
			if svc := sup.Child(c.ID); svc != nil {
				if gone == nil {
					gone = make(map[service.Service]bool)
				}
				gone[svc] = true
			}
		}
	}
	return gone
}

// isNilService reports whether s is nil or a typed nil pointer.
func isNilService(s service.Service) bool {
	if s == nil {
		return true
	}
	v := reflect.ValueOf(s)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// serveHealthz serves /healthz: Liveness as JSON, 200 when live, 503
// when not. ?verbose adds every service checked.
func (h *Handler) serveHealthz(w http.ResponseWriter, r *http.Request) {
	writeReport(w, r, Liveness(r.Context(), h.Root))
}

// writeReport writes rep as JSON: 200 when it passed, 503 when not (what
// Kubernetes' probes expect).
func writeReport(w http.ResponseWriter, r *http.Request, rep Report) {
	if _, verbose := r.URL.Query()["verbose"]; !verbose {
		rep.Services = nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	code := http.StatusOK
	if !rep.OK() {
		code = http.StatusServiceUnavailable
	}
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(rep) // the client went away: nothing to do
}
