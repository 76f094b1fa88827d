package observe_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
)

// getCtx is get with the request's ctx.
func getCtx(t *testing.T, h http.Handler, ctx context.Context, path string) (int, observe.Report) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil))
	var rep observe.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Errorf("GET %s: %v: %s", path, err, rec.Body)
	}
	return rec.Code, rep
}

// TestReadyzShared: /readyz requests that arrive while a check runs share
// it: one waits at most its own timeout (then fails saying so), the check
// is not cut short when the client that began it goes away while another
// waits, and those still waiting get its report; once no request waits,
// it ends (TestReadyzNobodyWaits).
func TestReadyzShared(t *testing.T) {
	cases := []struct {
		name        string
		leaderGone  bool // the request that began the check goes away
		followerFor string
		wantCode    int
		wantText    string
	}{
		{name: "follower waits past its timeout", followerFor: "1s", wantCode: http.StatusServiceUnavailable, wantText: "did not end within this probe's timeout"},
		{name: "follower gets the shared report", followerFor: "30s", wantCode: http.StatusOK},
		{name: "leader's client goes away", leaderGone: true, followerFor: "30s", wantCode: http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { sharedCase(t, tc.leaderGone, tc.followerFor, tc.wantCode, tc.wantText) })
		})
	}
}

// sharedCase is one case of TestReadyzShared, in a synctest bubble.
func sharedCase(t *testing.T, leaderGone bool, followerFor string, wantCode int, wantText string) {
	entered, release := make(chan struct{}, 4), make(chan struct{})
	calls := 0
	p := newProbe("db")
	p.health = func(ctx context.Context) error {
		calls++ // one at a time: the test checks there is one
		entered <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	start(t, p)
	h := &observe.Handler{Root: p}
	defer h.Close()
	lctx, lcancel := context.WithCancel(context.Background())
	defer lcancel()
	leader := make(chan int, 1)
	go func() { code, _ := getCtx(t, h, lctx, "/readyz?timeout=30s"); leader <- code }()
	<-entered
	follower := make(chan observe.Report, 1)
	codes := make(chan int, 1)
	go func() {
		code, rep := getCtx(t, h, context.Background(), "/readyz?timeout="+followerFor)
		codes <- code
		follower <- rep
	}()
	synctest.Wait() // the follower waits for the check in progress
	if leaderGone {
		lcancel()
		synctest.Wait()
	}
	if wantCode != http.StatusOK {
		// It gives up at its own timeout, the check still running.
		if code := <-codes; code != wantCode || !strings.Contains((<-follower).Failures[0].Error, wantText) {
			t.Fatalf("follower: %d, want %d saying %q", code, wantCode, wantText)
		}
		close(release)
	} else {
		close(release)
		if code := <-codes; code != wantCode {
			t.Fatalf("follower: %d %+v, want %d", code, <-follower, wantCode)
		}
	}
	select {
	case code := <-leader:
		// A request whose client went away returns at once, saying so:
		// the check goes on on its own goroutine for the others.
		if want := map[bool]int{false: http.StatusOK, true: http.StatusServiceUnavailable}[leaderGone]; code != want {
			t.Errorf("leader: %d, want %d", code, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the leader's request did not return")
	}
	if calls != 1 {
		t.Errorf("%d Healthcheck calls, want 1 (shared)", calls)
	}
}

// TestReadyzNobodyWaits: the check of a /readyz whose client went away,
// with no other request sharing it, ends at once (its Healthcheck's ctx
// ends), and the next request begins a check of its own.
func TestReadyzNobodyWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered := make(chan struct{}, 4)
		ended := make(chan error, 4)
		p := newProbe("db")
		p.health = func(ctx context.Context) error {
			entered <- struct{}{}
			<-ctx.Done()
			ended <- context.Cause(ctx)
			return ctx.Err()
		}
		start(t, p)
		h := &observe.Handler{Root: p}
		defer h.Close()
		ctx, cancel := context.WithCancel(context.Background())
		codes := make(chan int, 1)
		go func() { code, _ := getCtx(t, h, ctx, "/readyz?timeout=30s"); codes <- code }()
		<-entered
		began := time.Now()
		cancel()
		if code := <-codes; code != http.StatusServiceUnavailable {
			t.Errorf("the gone client's request: %d, want 503", code)
		}
		if took := time.Since(began); took > time.Second {
			t.Errorf("the check went on %v after its only client went away", took)
		}
		<-ended
		go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout=2s"); codes <- code }()
		<-entered // a check of its own
		if code := <-codes; code != http.StatusServiceUnavailable {
			t.Errorf("the next request: %d, want 503 (its Healthcheck timed out)", code)
		}
		<-ended
	})
}

// TestReadyzClose: the Handler's Close ends the /readyz check in progress
// and waits for its goroutine; the probe sharing it fails.
func TestReadyzClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered, returned := make(chan struct{}, 1), make(chan struct{})
		p := newProbe("db")
		p.health = func(ctx context.Context) error {
			entered <- struct{}{}
			<-ctx.Done()
			close(returned)
			return ctx.Err()
		}
		start(t, p)
		h := &observe.Handler{Root: p}
		codes := make(chan int, 1)
		go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout=30s"); codes <- code }()
		<-entered
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-returned: // the check's Healthcheck returned before Close did
		default:
			// Or CheckHealth gave up on it as its ctx ended: the check
			// ended all the same (Readiness returned).
			if len(service.Abandoned(p)) == 0 {
				t.Fatal("Close returned before the readiness check in progress ended")
			}
		}
		if code := <-codes; code != http.StatusServiceUnavailable {
			t.Errorf("the probe sharing the closed check: %d, want 503", code)
		}
	})
}
