package observe_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// The controls without a Token trust a loopback connection. A page of
// another site that rebinds its DNS name to 127.0.0.1 (DNS rebinding)
// talks to the handler from the browser as its own origin: Origin and Host
// agree and Sec-Fetch-Site says same-origin. Only the Host header tells:
// it names the attacker's site, not a loopback host.
func TestReviewControlsDNSRebinding(t *testing.T) {
	tests := []struct {
		name  string
		host  string
		token string
		code  int
	}{
		{name: "rebound name", host: "evil.example:8080", code: http.StatusForbidden},
		{name: "rebound name without port", host: "evil.example", code: http.StatusForbidden},
		{name: "public IP as host", host: "10.1.2.3:8080", code: http.StatusForbidden},
		{name: "localhost", host: "localhost:8080", code: http.StatusOK},
		{name: "localhost upper case", host: "LocalHost:8080", code: http.StatusOK},
		{name: "a .localhost name", host: "app.localhost:8080", code: http.StatusOK},
		{name: "127.0.0.1", host: "127.0.0.1:8080", code: http.StatusOK},
		{name: "another loopback IP", host: "127.0.0.2", code: http.StatusOK},
		{name: "::1", host: "[::1]:8080", code: http.StatusOK},
		{name: "a token is enough whatever the host", host: "evil.example:8080", token: "s3cret", code: http.StatusOK},
	}
	tt := startTree(t, 0)
	nop := zerolog.Nop()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := &observe.Handler{Root: tt.root, Controls: true, Token: tc.token, Log: &nop}
			defer h.Close()
			req := httptest.NewRequest("POST", "/control/restart?id=root/a", nil)
			req.Host = tc.host
			req.Header.Set("Origin", "http://"+tc.host)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, loopbackAddr))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			var a controlAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
				t.Fatalf("%d %q: %v", w.Code, w.Body, err)
			}
			if w.Code != tc.code {
				t.Errorf("Host %s: %d %+v, want %d", tc.host, w.Code, a, tc.code)
			}
			tt.waitRunning(t)
		})
	}
}

// A Healthcheck that hangs, ignoring its ctx, is abandoned by the first
// readiness check. The checks that follow (a kubelet probes every few
// seconds, for as long as the pod lives) must not call it again beside
// the one still running: each call would be one more goroutine that never
// ends. The service fails readiness (and liveness) while it hangs either
// way.
func TestReviewReadinessHungHealthcheck(t *testing.T) {
	var calls atomic.Int32
	gate := make(chan struct{})
	p := newProbe("hangs")
	p.health = func(context.Context) error {
		calls.Add(1)
		<-gate // ignores ctx, as hung code does
		return nil
	}
	start(t, p)
	t.Cleanup(func() { close(gate); waitNotAbandoned(t, p) })
	h := &observe.Handler{Root: p}
	defer h.Close()
	const probes = 5
	for i := range probes {
		code, rep := get(t, h, "/readyz?timeout=5ms")
		if code != http.StatusServiceUnavailable || len(rep.Failures) == 0 {
			t.Fatalf("probe %d: %d %+v, want 503", i, code, rep)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		if rep := observe.Readiness(ctx, p); rep.OK() {
			t.Fatalf("Readiness passed: %+v", rep)
		}
		cancel()
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("the hung Healthcheck was called %d times by %d probes, want once: %v", n, 2*probes, service.Abandoned(p))
	}
}
