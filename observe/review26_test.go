package observe_test

// Review 26: a hostile review of the shared /readyz check (readyz.go):
// mixed timeouts, clients that leave, a Healthcheck that panics, many
// probes at once, the server closing mid-check. The synctest bubbles also
// check that nothing is left running (a goroutine still blocked at the
// bubble's end fails the test); TestMain runs goleak.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
)

// TestReview26ReadyzMixedTimeouts: a check begun by a probe with a short
// ?timeout is shared by one with a longer one that arrives meanwhile. A
// Healthcheck that passes within the longer probe's timeout must pass it:
// otherwise any client sending ?timeout=1s just before the kubelet's probe
// (timeoutSeconds 10) makes it fail while the Healthcheck takes 1.5 s:
// what minProbeTimeout was meant to rule out (see its comment).
func TestReview26ReadyzMixedTimeouts(t *testing.T) {
	cases := []struct {
		name             string
		leader, follower string
		takes            time.Duration
		wantLeader       int
		wantFollower     int
	}{
		{name: "both within the leader's", leader: "2s", follower: "10s", takes: time.Second, wantLeader: 200, wantFollower: 200},
		{name: "longer follower, slow check", leader: "1s", follower: "10s", takes: 1500 * time.Millisecond, wantLeader: 503, wantFollower: 200},
		{name: "shorter follower, slow check", leader: "10s", follower: "1s", takes: 1500 * time.Millisecond, wantLeader: 200, wantFollower: 503},
		{name: "nobody's timeout suffices", leader: "1s", follower: "2s", takes: 5 * time.Second, wantLeader: 503, wantFollower: 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				entered := make(chan struct{}, 4)
				var calls atomic.Int32
				p := newProbe("db")
				p.health = func(ctx context.Context) error {
					calls.Add(1)
					entered <- struct{}{}
					select {
					case <-time.After(tc.takes):
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				start(t, p)
				h := &observe.Handler{Root: p}
				defer h.Close()
				leader, follower := make(chan int, 1), make(chan int, 1)
				go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout="+tc.leader); leader <- code }()
				<-entered
				go func() {
					code, _ := getCtx(t, h, context.Background(), "/readyz?timeout="+tc.follower)
					follower <- code
				}()
				synctest.Wait()
				if got := <-leader; got != tc.wantLeader {
					t.Errorf("leader (?timeout=%s): %d, want %d", tc.leader, got, tc.wantLeader)
				}
				if got := <-follower; got != tc.wantFollower {
					t.Errorf("follower (?timeout=%s): %d, want %d (the Healthcheck takes %v)", tc.follower, got, tc.wantFollower, tc.takes)
				}
				synctest.Wait()
				if n := calls.Load(); n > 2 {
					t.Errorf("%d Healthcheck calls for 2 probes", n)
				}
			})
		})
	}
}

// TestReview26ReadyzClientsLeave: a follower whose client leaves returns
// at once and the check goes on for the others; a Healthcheck that panics
// fails every probe sharing it (503, not a hang, not a crash of the
// process) and the next probe begins a check of its own.
func TestReview26ReadyzClientsLeave(t *testing.T) {
	cases := []struct {
		name         string
		panics       bool
		followerGone bool
		want         int
	}{
		{name: "follower leaves", followerGone: true, want: 200},
		{name: "Healthcheck panics", panics: true, want: 503},
		{name: "Healthcheck panics, follower leaves", panics: true, followerGone: true, want: 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				entered, release := make(chan struct{}, 8), make(chan struct{})
				var calls atomic.Int32
				p := newProbe("db")
				p.health = func(ctx context.Context) error {
					n := calls.Add(1)
					entered <- struct{}{}
					if n == 1 {
						<-release
						if tc.panics {
							panic("healthcheck bug")
						}
					}
					return nil
				}
				start(t, p)
				h := &observe.Handler{Root: p}
				defer h.Close()
				leader, follower, other := make(chan int, 1), make(chan int, 1), make(chan int, 1)
				go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout=30s"); leader <- code }()
				<-entered
				fctx, fcancel := context.WithCancel(context.Background())
				defer fcancel()
				go func() { code, _ := getCtx(t, h, fctx, "/readyz?timeout=30s"); follower <- code }()
				go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout=30s"); other <- code }()
				synctest.Wait()
				if tc.followerGone {
					fcancel()
					if code := <-follower; code != http.StatusServiceUnavailable {
						t.Errorf("the gone follower: %d, want 503", code)
					}
				}
				close(release)
				if code := <-leader; code != tc.want {
					t.Errorf("leader: %d, want %d", code, tc.want)
				}
				if code := <-other; code != tc.want {
					t.Errorf("the other follower: %d, want %d", code, tc.want)
				}
				if !tc.followerGone {
					if code := <-follower; code != tc.want {
						t.Errorf("follower: %d, want %d", code, tc.want)
					}
				}
				if n := calls.Load(); n != 1 {
					t.Errorf("%d Healthcheck calls, want 1 (shared)", n)
				}
				if code, _ := getCtx(t, h, context.Background(), "/readyz"); code != http.StatusOK || calls.Load() != 2 {
					t.Errorf("the next probe: %d after %d calls, want 200 from a check of its own", code, calls.Load())
				}
			})
		})
	}
}

// TestReview26ReadyzStorm: 32 probes at once with mixed timeouts while a
// Healthcheck takes 500 ms: one Healthcheck call, every probe 200.
func TestReview26ReadyzStorm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		entered := make(chan struct{}, 64)
		var calls atomic.Int32
		p := newProbe("db")
		p.health = func(ctx context.Context) error {
			calls.Add(1)
			entered <- struct{}{}
			select {
			case <-time.After(500 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		start(t, p)
		h := &observe.Handler{Root: p}
		defer h.Close()
		codes := make(chan int, 32)
		go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout=1s"); codes <- code }()
		<-entered
		for i := range 31 {
			d := []string{"1ms", "1s", "2s", "30s", "5m"}[i%5]
			go func() { code, _ := getCtx(t, h, context.Background(), "/readyz?timeout="+d); codes <- code }()
		}
		for range 32 {
			if code := <-codes; code != http.StatusOK {
				t.Errorf("a probe: %d, want 200", code)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("%d Healthcheck calls for 32 probes at once, want 1", n)
		}
	})
}

// TestReview26ReadyzServerCloses: the server closing while a check runs
// (its Healthcheck waits for its ctx) cuts the requests, which ends the
// check: Close returns (it waits for the handlers) and nothing is left
// running (goleak in TestMain).
func TestReview26ReadyzServerCloses(t *testing.T) {
	entered := make(chan struct{}, 8)
	ended := make(chan error, 8)
	p := newProbe("db")
	p.health = func(ctx context.Context) error {
		entered <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return ctx.Err()
	}
	start(t, p)
	h := &observe.Handler{Root: p}
	defer h.Close()
	in := make(chan struct{}, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		h.ServeHTTP(w, r)
	}))
	errs := make(chan error, 3)
	for i := range 3 {
		go func() {
			resp, err := http.Get(srv.URL + fmt.Sprintf("/readyz?timeout=%ds", 30+i))
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
		if i == 0 {
			<-entered
		}
	}
	for range 3 {
		<-in
	}
	// Every request is in the Handler: close the server.
	closed := make(chan struct{})
	go func() { srv.CloseClientConnections(); srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's Close did not return while a readiness check ran")
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the check went on after every request was cut")
	}
	for range 3 {
		<-errs
	}
}

// TestReview26ReadyzTimeoutAbandonsNothing: a Healthcheck that honours its
// ctx and outlasts the check returns as the check's ctx ends: CheckHealth
// must not take it for hung code ("did not return", Abandoned), which it would if the check's ctx ended its derived contexts
// late.
func TestReview26ReadyzTimeoutAbandonsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbe("db")
		p.health = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		start(t, p)
		h := &observe.Handler{Root: p}
		defer h.Close()
		for range 3 {
			code, rep := getCtx(t, h, context.Background(), "/readyz?timeout=1s")
			if code != http.StatusServiceUnavailable || len(rep.Failures) != 1 {
				t.Fatalf("/readyz: %d %+v, want 503", code, rep)
			}
			if e := rep.Failures[0].Error; strings.Contains(e, "did not return") {
				t.Errorf("/readyz: %q: the Healthcheck, which returned at its ctx's end, was abandoned", e)
			}
		}
		synctest.Wait()
		if a := service.Abandoned(p); len(a) != 0 {
			t.Errorf("a Healthcheck that honours its ctx was abandoned: %+v", a)
		}
		if code, rep := getCtx(t, h, context.Background(), "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz: %d %+v", code, rep)
		}
	})
}
