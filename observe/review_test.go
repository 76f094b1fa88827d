package observe_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gomode/mode/observe"
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
