package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// quiet is a service config with a silent logger.
func quiet(name string) service.Config {
	l := zerolog.Nop()
	return service.Config{Name: name, Logger: &l}
}

// probe is a service whose hooks the test drives: OnStart and OnStop wait
// on their gates (OnStop ignoring its ctx, like hung code), Healthcheck
// calls health.
type probe struct {
	service.Base
	startGate chan struct{} // OnStart waits for it to close, when set
	starting  chan struct{} // closed as OnStart begins waiting
	stopGate  chan struct{} // OnStop waits for it to close, ignoring ctx
	stopping  chan struct{} // closed as OnStop begins waiting
	health    func(ctx context.Context) error
}

func newProbe(name string) *probe {
	p := &probe{}
	p.Configure(quiet(name))
	return p
}

func (p *probe) OnStart(ctx context.Context) error {
	if p.startGate != nil {
		close(p.starting)
		select {
		case <-p.startGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (p *probe) OnStop(context.Context) error {
	if p.stopGate != nil {
		close(p.stopping)
		<-p.stopGate
	}
	return nil
}

func (p *probe) Healthcheck(ctx context.Context) error {
	if p.health != nil {
		return p.health(ctx)
	}
	return nil
}

// stateWaiter hears of state changes (service.Observer).
type stateWaiter struct{ ch chan service.State }

func (w stateWaiter) StateChanged(_ service.Service, _, to service.State) {
	select {
	case w.ch <- to:
	default:
	}
}

// waitState waits, by observing it, until s is in state want.
func waitState(t *testing.T, s service.Service, want service.State) {
	t.Helper()
	w := stateWaiter{ch: make(chan service.State, 64)}
	detach, err := service.Observe(s, w)
	if err != nil {
		t.Fatal(err)
	}
	defer detach()
	deadline := time.After(10 * time.Second)
	for s.State() != want {
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("%s: state %s, want %s", s.Label(), s.State(), want)
		}
	}
}

// waitNotAbandoned polls (nothing tells when abandoned code has returned)
// until s has no abandoned code left.
func waitNotAbandoned(t *testing.T, s service.Service) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(service.Abandoned(s)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("still abandoned: %v", service.Abandoned(s))
		}
		time.Sleep(time.Millisecond)
	}
}

func start(t *testing.T, s service.Service) {
	t.Helper()
	if err := service.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
}

// get fetches path from h and decodes its Report.
func get(t *testing.T, h http.Handler, path string) (int, observe.Report) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if ct := rec.Header().Get("Content-Type"); rec.Code != http.StatusBadRequest && ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", path, ct)
	}
	var rep observe.Report
	if rec.Code != http.StatusBadRequest {
		if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, rec.Body)
		}
	}
	return rec.Code, rep
}

// failure is what a case expects in a Report's failures: a service and a
// substring of its error.
type failure struct{ service, state, err string }

func checkReport(t *testing.T, what string, code int, rep observe.Report, wantCode int, want []failure) {
	t.Helper()
	if code != wantCode {
		t.Errorf("%s: status %d, want %d; report %+v", what, code, wantCode, rep)
	}
	wantStatus := "ok"
	if wantCode != http.StatusOK {
		wantStatus = "fail"
	}
	if rep.Status != wantStatus {
		t.Errorf("%s: status %q, want %q", what, rep.Status, wantStatus)
	}
	if len(rep.Failures) != len(want) {
		t.Fatalf("%s: failures %+v, want %d like %+v", what, rep.Failures, len(want), want)
	}
	for i, f := range want {
		got := rep.Failures[i]
		if got.Service != f.service || got.State != f.state || !strings.Contains(got.Error, f.err) {
			t.Errorf("%s: failure %d = %+v, want %+v", what, i, got, f)
		}
	}
}

// TestProbes checks /healthz and /readyz on trees in each condition.
func TestProbes(t *testing.T) {
	bad := errors.New("db unreachable")
	cases := []struct {
		name string
		// build makes the tree, brings it into the condition, and returns
		// its root and what ends the condition before the cleanup stops it.
		build      func(t *testing.T) (root service.Service, release func())
		query      string // added to /readyz
		live       int
		liveFails  []failure
		ready      int
		readyFails []failure
	}{{
		name: "healthy",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root")})
			if err := root.Add(context.Background(), newProbe("db")); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			return root, func() {}
		},
		live: 200, ready: 200,
	}, {
		name: "healthcheck failing",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root")})
			db := newProbe("db")
			db.health = func(context.Context) error { return bad }
			if err := root.Add(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			return root, func() {}
		},
		live: 200, ready: 503,
		readyFails: []failure{{"root/db", "running", "db unreachable"}},
	}, {
		name: "healthcheck panicking",
		build: func(t *testing.T) (service.Service, func()) {
			db := newProbe("db")
			db.health = func(context.Context) error { panic("nil map") }
			start(t, db)
			return db, func() {}
		},
		live: 200, ready: 503,
		readyFails: []failure{{"db", "running", "nil map"}},
	}, {
		name: "crashed root",
		build: func(t *testing.T) (service.Service, func()) {
			job := service.Func("job", func(context.Context) error { return bad })
			job.Configure(quiet("job"))
			start(t, job)
			waitState(t, job, service.Crashed)
			return job, func() {}
		},
		live:       503,
		liveFails:  []failure{{"job", "crashed", "db unreachable"}},
		ready:      503,
		readyFails: []failure{{"job", "crashed", "db unreachable"}},
	}, {
		name: "supervisor gave up",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root"), MaxRestarts: 1, Window: time.Hour})
			crash := make(chan struct{}) // closed once started: crash from then on
			job := service.Func("job", func(context.Context) error { <-crash; return bad })
			job.Configure(quiet("job"))
			if err := root.Add(context.Background(), job); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			close(crash)
			waitState(t, root, service.Crashed)
			return root, func() {}
		},
		live:       503,
		liveFails:  []failure{{"root", "crashed", "restart intensity exceeded"}},
		ready:      503,
		readyFails: []failure{{"root", "crashed", "restart intensity exceeded"}},
	}, {
		name: "never started",
		build: func(t *testing.T) (service.Service, func()) {
			return newProbe("idle"), func() {}
		},
		live: 200, ready: 503,
		readyFails: []failure{{"idle", "init", "not running"}},
	}, {
		name: "starting",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root")})
			slow := newProbe("slow")
			slow.startGate, slow.starting = make(chan struct{}), make(chan struct{})
			if err := root.Add(context.Background(), slow); err != nil {
				t.Fatal(err)
			}
			started := make(chan error, 1)
			go func() { started <- service.Start(context.Background(), root) }()
			<-slow.starting
			t.Cleanup(func() { _ = root.Stop(context.Background()) })
			return root, func() {
				close(slow.startGate)
				if err := <-started; err != nil {
					t.Error(err)
				}
			}
		},
		live: 200, ready: 503,
		readyFails: []failure{{"root", "starting", "not running"}},
	}, {
		name: "stopping",
		build: func(t *testing.T) (service.Service, func()) {
			db := newProbe("db")
			db.stopGate, db.stopping = make(chan struct{}), make(chan struct{})
			start(t, db)
			stopped := make(chan error, 1)
			go func() { stopped <- db.Stop(context.Background()) }()
			<-db.stopping
			return db, func() {
				close(db.stopGate)
				if err := <-stopped; err != nil {
					t.Error(err)
				}
			}
		},
		live: 200, ready: 503,
		readyFails: []failure{{"db", "stopping", "not running"}},
	}, {
		name: "slow healthcheck",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root")})
			db := newProbe("db")
			gate := make(chan struct{})
			db.health = func(context.Context) error { <-gate; return nil } // ignores ctx
			if err := root.Add(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			// A first probe abandons the hook; the case's probes see it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			rep := observe.Readiness(ctx, root)
			if err := rep.Err(); !errors.Is(err, observe.ErrNotReady) {
				t.Fatalf("Readiness: %v", err)
			}
			return root, func() { close(gate); waitNotAbandoned(t, db) }
		},
		query: "?timeout=20ms",
		live:  200, // slow, not hung yet: TestProbesHealthcheckHangsAfterAMinute
		ready: 503,
		readyFails: []failure{ // not called again beside itself (TestReviewReadinessHungHealthcheck)
			{"root/db", "running", "Healthcheck (CheckHealth)"},
		},
	}, {
		name: "abandoned by stop",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root")})
			db := newProbe("db")
			db.stopGate, db.stopping = make(chan struct{}), make(chan struct{})
			cfg := quiet("db")
			cfg.StopTimeout = 10 * time.Millisecond
			db.Configure(cfg)
			if err := root.Add(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			if err := db.Stop(context.Background()); !errors.Is(err, service.ErrStopTimeout) {
				t.Fatalf("Stop: %v, want ErrStopTimeout", err)
			}
			return root, func() { close(db.stopGate); waitNotAbandoned(t, db) }
		},
		live: 503,
		liveFails: []failure{
			{"root/db", "shutdown", "root/db: OnStop"},
		},
		ready: 503,
		readyFails: []failure{
			{"root/db", "shutdown", "root/db: OnStop"},
			{"root/db", "shutdown", "not running"},
		},
	}, {
		name: "terminated child is gone",
		build: func(t *testing.T) (service.Service, func()) {
			root := supervisor.New(supervisor.Spec{Service: quiet("root")})
			if err := root.Add(context.Background(), newProbe("db")); err != nil {
				t.Fatal(err)
			}
			if err := root.Add(context.Background(), newProbe("cache")); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			if err := root.Terminate(context.Background(), "cache"); err != nil {
				t.Fatal(err)
			}
			return root, func() {}
		},
		live: 200, ready: 200,
	}, {
		name: "nil root",
		build: func(t *testing.T) (service.Service, func()) {
			return nil, func() {}
		},
		live:       503,
		liveFails:  []failure{{"", "", "nil service"}},
		ready:      503,
		readyFails: []failure{{"", "", "nil service"}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, release := c.build(t)
			h := &observe.Handler{Root: root}
			code, rep := get(t, h, "/healthz")
			checkReport(t, "/healthz", code, rep, c.live, c.liveFails)
			code, rep = get(t, h, "/readyz"+c.query)
			checkReport(t, "/readyz", code, rep, c.ready, c.readyFails)
			if err := observe.Healthy(context.Background(), root); (err == nil) != (c.live == 200) {
				t.Errorf("Healthy: %v, want live %v", err, c.live == 200)
			} else if err != nil && !errors.Is(err, observe.ErrNotLive) {
				t.Errorf("Healthy: %v, want ErrNotLive", err)
			}
			release()
		})
	}
}
