package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestProbeVerbose: ?verbose lists every service checked, passing ones
// included; without it only the failures are sent.
func TestProbeVerbose(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: quiet("root")})
	db := newProbe("db")
	db.health = func(context.Context) error { return errors.New("slow disk") }
	for _, s := range []service.Service{db, newProbe("cache")} {
		if err := root.Add(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	start(t, root)
	h := &observe.Handler{Root: root}
	for _, c := range []struct {
		path     string
		code     int
		services []string
	}{
		{"/healthz", 200, nil},
		{"/healthz?verbose", 200, []string{"root", "root/db", "root/cache"}},
		{"/readyz", 503, nil},
		{"/readyz?verbose=1", 503, []string{"root", "root/db", "root/cache"}},
	} {
		code, rep := get(t, h, c.path)
		if code != c.code {
			t.Errorf("%s: %d, want %d", c.path, code, c.code)
		}
		var got []string
		for _, s := range rep.Services {
			got = append(got, s.Service)
		}
		if strings.Join(got, ",") != strings.Join(c.services, ",") {
			t.Errorf("%s: services %v, want %v", c.path, got, c.services)
		}
	}
}

// TestReadyzBadTimeout: a timeout that is no positive duration is a 400.
func TestReadyzBadTimeout(t *testing.T) {
	h := &observe.Handler{Root: newProbe("idle")}
	for _, q := range []string{"?timeout=x", "?timeout=-1s", "?timeout=0"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz"+q, nil))
		if rec.Code != http.StatusBadRequest {
			t.Errorf("/readyz%s: %d, want 400", q, rec.Code)
		}
	}
}

// TestHealthyEndedCtx: an ended ctx is Healthy's error, not a liveness
// failure.
func TestHealthyEndedCtx(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := observe.Healthy(ctx, newProbe("idle"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, observe.ErrNotLive) {
		t.Fatalf("Healthy: %v, want context.Canceled only", err)
	}
}

// TestProbesWhileRestarting: many concurrent probes of a tree that keeps
// restarting and crashing all get a well-formed answer, 200 or 503 (run
// with -race).
func TestProbesWhileRestarting(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: quiet("root"), MaxRestarts: 1 << 30})
	for _, name := range []string{"a", "b", "c"} {
		p := newProbe(name)
		p.health = func(ctx context.Context) error { return ctx.Err() }
		if err := root.Add(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	start(t, root)
	srv := httptest.NewServer(&observe.Handler{Root: root})
	defer srv.Close()

	done := make(chan struct{})
	var restarts sync.WaitGroup
	restarts.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			// Errors are expected (a child restarting while the root
			// restarts): what is checked is the probes' answers.
			switch i % 3 {
			case 0:
				_ = root.Restart(context.Background())
			case 1:
				if b := root.Child("b"); b != nil {
					_ = b.Restart(context.Background())
				}
			case 2:
				if c := root.Child("c"); c != nil {
					c.Crash(errors.New("boom")) // the supervisor restarts it
				}
			}
		}
	})
	var probes sync.WaitGroup
	var oks, fails atomic.Int32
	for i := range 8 {
		probes.Go(func() {
			path := []string{"/healthz", "/readyz?verbose"}[i%2]
			for range 50 {
				resp, err := srv.Client().Get(srv.URL + path)
				if err != nil {
					t.Error(err)
					return
				}
				var rep observe.Report
				err = json.NewDecoder(resp.Body).Decode(&rep)
				resp.Body.Close()
				switch {
				case err != nil:
					t.Errorf("%s: %v", path, err)
				case resp.StatusCode == 200 && rep.Status == "ok":
					oks.Add(1)
				case resp.StatusCode == 503 && rep.Status == "fail" && len(rep.Failures) > 0:
					fails.Add(1)
				default:
					t.Errorf("%s: %d %+v", path, resp.StatusCode, rep)
				}
			}
		})
	}
	probes.Wait()
	close(done)
	restarts.Wait()
	t.Logf("%d probes passed, %d failed", oks.Load(), fails.Load())
}

// BenchmarkProbes measures a probe of a running tree of 1,000 services
// (a root, 10 supervisors of 99 probes each): liveness reads snapshots,
// readiness runs every Healthcheck.
func BenchmarkProbes(b *testing.B) {
	root := supervisor.New(supervisor.Spec{Service: quiet("root")})
	for i := range 10 {
		sup := supervisor.New(supervisor.Spec{Service: quiet(fmt.Sprintf("sup%d", i))})
		for j := range 99 {
			if err := sup.Add(context.Background(), newProbe(fmt.Sprintf("p%d", j))); err != nil {
				b.Fatal(err)
			}
		}
		if err := root.Add(context.Background(), sup); err != nil {
			b.Fatal(err)
		}
	}
	if err := service.Start(context.Background(), root); err != nil {
		b.Fatal(err)
	}
	defer root.Stop(context.Background())
	for _, c := range []struct {
		name  string
		probe func(context.Context, service.Service) observe.Report
	}{{"liveness", observe.Liveness}, {"readiness", observe.Readiness}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if rep := c.probe(context.Background(), root); !rep.OK() || len(rep.Services) != 1001 {
					b.Fatalf("%+v", rep.Failures)
				}
			}
		})
	}
}

// BenchmarkHealthy measures a watchdog's liveness check of a tree of
// 1,000 services.
func BenchmarkHealthy(b *testing.B) {
	root := supervisor.New(supervisor.Spec{Service: quiet("root")})
	for i := range 999 {
		if err := root.Add(context.Background(), newProbe(fmt.Sprintf("p%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	if err := service.Start(context.Background(), root); err != nil {
		b.Fatal(err)
	}
	defer root.Stop(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		if err := observe.Healthy(context.Background(), root); err != nil {
			b.Fatal(err)
		}
	}
}

// A Healthcheck a probe gave up on is slow (not ready, but live) until
// it has run for ProbeHangAfter; then it is a hang (not live).
func TestProbesHealthcheckHangsAfterAMinute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := supervisor.New(supervisor.Spec{Service: quiet("root")})
		db := newProbe("db")
		gate := make(chan struct{})
		db.health = func(context.Context) error { <-gate; return nil } // ignores ctx
		if err := root.Add(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		start(t, root)
		defer func() {
			close(gate)
			synctest.Wait()
			if err := root.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if rep := observe.Readiness(ctx, root); rep.OK() || !strings.Contains(fmt.Sprint(rep.Failures), "healthcheck did not return") {
			t.Fatalf("Readiness: %+v", rep)
		}
		steps := []struct {
			after time.Duration
			live  bool
			text  string
		}{
			{0, true, "slow: still running after a probe gave up on it"},
			{observe.ProbeHangAfter - 2*time.Second, true, "slow:"},
			{2 * time.Second, false, "hung: abandoned, still running: root/db: Healthcheck (CheckHealth)"},
		}
		for i, st := range steps {
			time.Sleep(st.after)
			live := observe.Liveness(context.Background(), root)
			if live.OK() != st.live {
				t.Fatalf("step %d: Liveness %+v, want live %v", i, live, st.live)
			}
			ready := observe.Readiness(context.Background(), root)
			if ready.OK() || !strings.Contains(fmt.Sprint(ready.Failures), st.text) && st.live {
				t.Fatalf("step %d: Readiness %+v, want a failure %q", i, ready, st.text)
			}
			if !st.live && !strings.Contains(fmt.Sprint(live.Failures), st.text) {
				t.Fatalf("step %d: Liveness %+v, want %q", i, live, st.text)
			}
		}
	})
}
