package observe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// syncBuffer is a log sink for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) lines() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

var (
	loopbackAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	publicAddr   = &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8080}
)

type controlAnswer struct {
	Action, ID string
	OK         bool
	Error      string
}

func TestControls(t *testing.T) {
	tests := []struct {
		name     string
		controls bool
		token    string
		local    net.Addr // nil: none known
		header   map[string]string
		action   string
		id       string
		code     int
		err      string
	}{
		{name: "disabled", local: loopbackAddr, action: "restart", id: "root/a", code: 403, err: observe.ErrControlsOff.Error()},
		{name: "disabled with token", token: "s3cret", local: publicAddr, header: map[string]string{"Authorization": "Bearer s3cret"}, action: "restart", id: "root/a", code: 403, err: observe.ErrControlsOff.Error()},
		{name: "loopback without token", controls: true, local: loopbackAddr, action: "restart", id: "root/a", code: 200},
		{name: "loopback v6", controls: true, local: &net.TCPAddr{IP: net.IPv6loopback}, action: "restart", id: "root/a", code: 200},
		{name: "unknown local address", controls: true, action: "restart", id: "root/a", code: 403, err: "off loopback"},
		{name: "public without token set", controls: true, local: publicAddr, action: "restart", id: "root/a", code: 403, err: "off loopback"},
		{name: "public without token", controls: true, token: "s3cret", local: publicAddr, action: "restart", id: "root/a", code: 403, err: "missing or wrong token"},
		{name: "public wrong token", controls: true, token: "s3cret", local: publicAddr, header: map[string]string{"Authorization": "Bearer s3creT"}, action: "restart", id: "root/a", code: 403, err: "missing or wrong token"},
		{name: "public token without Bearer", controls: true, token: "s3cret", local: publicAddr, header: map[string]string{"Authorization": "s3cret"}, action: "restart", id: "root/a", code: 403, err: "missing or wrong token"},
		{name: "public right token", controls: true, token: "s3cret", local: publicAddr, header: map[string]string{"Authorization": "Bearer s3cret"}, action: "restart", id: "root/a", code: 200},
		{name: "loopback token set but missing", controls: true, token: "s3cret", local: loopbackAddr, action: "restart", id: "root/a", code: 403, err: "missing or wrong token"},
		{name: "cross-site page", controls: true, local: loopbackAddr, header: map[string]string{"Sec-Fetch-Site": "cross-site"}, action: "restart", id: "root/a", code: 403, err: "cross-site"},
		{name: "other origin", controls: true, local: loopbackAddr, header: map[string]string{"Origin": "http://evil.example"}, action: "restart", id: "root/a", code: 403, err: "evil.example"},
		{name: "same origin", controls: true, local: loopbackAddr, header: map[string]string{"Origin": "http://localhost:8080", "Sec-Fetch-Site": "same-origin"}, action: "restart", id: "root/a", code: 200},
		{name: "by child ID", controls: true, local: loopbackAddr, action: "restart", id: "c", code: 200},
		{name: "ambiguous name", controls: true, local: loopbackAddr, action: "restart", id: "w", code: 409, err: "root/w, root/inner/w"},
		{name: "path of a duplicate", controls: true, local: loopbackAddr, action: "restart", id: "root/inner/w", code: 200},
		{name: "unknown id", controls: true, local: loopbackAddr, action: "restart", id: "nope", code: 404, err: observe.ErrNoService.Error()},
		{name: "empty id", controls: true, local: loopbackAddr, action: "restart", id: "", code: 404, err: observe.ErrNoService.Error()},
		{name: "root", controls: true, local: loopbackAddr, action: "terminate", id: "root", code: 409, err: observe.ErrNotSupervised.Error()},
		{name: "unknown action", controls: true, local: loopbackAddr, action: "explode", id: "root/a", code: 404, err: observe.ErrUnknownAction.Error()},
	}
	tt := startTree(t, 0)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			l := zerolog.New(&logs)
			h := &observe.Handler{Root: tt.root, Controls: tc.controls, Token: tc.token, Log: &l}
			defer h.Close()
			req := httptest.NewRequest("POST", "/control/"+tc.action+"?id="+tc.id, nil)
			req.Host = "localhost:8080" // as a browser on this machine sends it (see TestReviewControlsDNSRebinding)
			req.RemoteAddr = "192.0.2.7:5555"
			req.Header.Set("User-Agent", "control-test")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			if tc.local != nil {
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, tc.local))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			var a controlAnswer
			if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
				t.Fatalf("%d %q: %v", w.Code, w.Body, err)
			}
			if w.Code != tc.code || a.OK != (tc.code == 200) || !strings.Contains(a.Error, tc.err) || a.Action != tc.action || a.ID != tc.id {
				t.Errorf("got %d %+v, want %d %q", w.Code, a, tc.code, tc.err)
			}
			lines := logs.lines()
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1", len(lines))
			}
			lg := lines[0]
			if lg["remote"] != "192.0.2.7:5555" || lg["user_agent"] != "control-test" || lg["action"] != tc.action || lg["id"] != tc.id || lg["status"] != float64(tc.code) {
				t.Errorf("log %v", lg)
			}
			if (lg["level"] == "info") != (tc.code == 200) {
				t.Errorf("log level %v for %d", lg["level"], tc.code)
			}
			tt.waitRunning(t)
		})
	}
}

// waitRunning waits for every service of the tree to run again.
func (tt *testTree) waitRunning(t testing.TB) {
	t.Helper()
	waitFor(t, func() bool {
		for _, s := range tt.svc {
			if s.State() != service.Running {
				return false
			}
		}
		return true
	})
}

// TestControlTerminateRestart terminates a child, then restarts it, over
// HTTP on loopback, as the page does.
func TestControlTerminateRestart(t *testing.T) {
	tt := startTree(t, 0)
	srv := serve(t, &observe.Handler{Root: tt.root, Controls: true})
	post := func(action, id string) controlAnswer {
		t.Helper()
		r, err := http.Post(srv.URL+"/control/"+action+"?id="+id, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var a controlAnswer
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := post("terminate", "root/inner/c"); !a.OK {
		t.Fatalf("terminate: %+v", a)
	}
	_, byPath := fetchTree(t, srv.URL)
	if n := byPath["root/inner/c"]; !n.Terminated || n.State != "shutdown" {
		t.Fatalf("after terminate: %+v", n)
	}
	if a := post("restart", "root/inner/c"); !a.OK {
		t.Fatalf("restart: %+v", a)
	}
	_, byPath = fetchTree(t, srv.URL)
	if n := byPath["root/inner/c"]; n.Terminated || n.State != "running" {
		t.Fatalf("after restart: %+v", n)
	}
	if r, err := http.Get(srv.URL + "/control/restart?id=root/a"); err != nil || r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET control: %v %v", r.StatusCode, err)
	} else {
		r.Body.Close()
	}
}
