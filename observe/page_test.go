package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// testTree is a running tree for the page's tests:
//
//	root (supervisor)
//	├── a
//	├── w
//	├── ticker (an Every timer named "tick")
//	└── inner (supervisor)
//	    ├── c
//	    └── w
type testTree struct {
	root, inner *supervisor.Supervisor
	svc         map[string]service.Service // by path
}

// ticker is a service with a timer.
type ticker struct{ service.Base }

func (t *ticker) OnStart(ctx context.Context) error {
	return t.Every(time.Hour, func(context.Context) error { return nil }, service.Named("tick"))
}

func waitFunc(name string) *service.FuncService {
	f := service.Func(name, func(ctx context.Context) error { <-ctx.Done(); return nil })
	f.Configure(quiet(""))
	return f
}

func named(name string) service.Config {
	c := quiet("")
	c.Name = name
	return c
}

// startTree starts the tree above, with extra more leaves "x0".."x<n-1>"
// under inner, and stops it when the test ends.
func startTree(t testing.TB, extra int) *testTree {
	t.Helper()
	ctx := context.Background()
	tt := &testTree{svc: map[string]service.Service{}}
	tt.root = supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1_000_000, Window: time.Minute})
	tt.inner = supervisor.New(supervisor.Spec{Service: named("inner"), MaxRestarts: 1_000_000, Window: time.Minute})
	tk := &ticker{}
	tk.Configure(named("ticker"))
	add := func(sup *supervisor.Supervisor, path string, s service.Service) {
		t.Helper()
		if err := sup.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
		tt.svc[path] = s
	}
	tt.svc["root"] = tt.root
	add(tt.root, "root/a", waitFunc("a"))
	add(tt.root, "root/w", waitFunc("w"))
	add(tt.root, "root/ticker", tk)
	add(tt.root, "root/inner", tt.inner)
	add(tt.inner, "root/inner/c", waitFunc("c"))
	add(tt.inner, "root/inner/w", waitFunc("w"))
	for i := range extra {
		name := fmt.Sprintf("x%d", i)
		add(tt.inner, "root/inner/"+name, waitFunc(name))
	}
	if err := service.Start(ctx, tt.root); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tt.root.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return tt
}

// crash crashes the service at path and waits until its supervisor has
// restarted it (count restarts in all).
func (tt *testTree) crash(t testing.TB, path string, count int) {
	t.Helper()
	s := tt.svc[path]
	s.Crash(errors.New("boom " + path))
	waitFor(t, func() bool { return s.RestartCount() >= count && s.State() == service.Running })
}

// waitFor polls cond until it holds, failing the test after 10 seconds:
// for what no channel tells.
func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

// serve serves h on a test server closed (after h) when the test ends.
func serve(t testing.TB, h *observe.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
		srv.Close()
	})
	return srv
}

func fetchURL(t testing.TB, url string) (*http.Response, string) {
	t.Helper()
	r, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r, string(b)
}

func TestPageAndAssets(t *testing.T) {
	tt := startTree(t, 0)
	srv := serve(t, &observe.Handler{Root: tt.root})
	tests := []struct {
		path, ctype, has string
		code             int
	}{
		{"/", "text/html", `<ul id="tree"`, 200},
		{"/page/app.js", "javascript", "new EventSource('events')", 200},
		{"/page/style.css", "text/css", "@keyframes flash", 200},
		{"/page/nothing.js", "", "", 404},
		{"/page/..%2fpage.go", "", "", 404},
		{"/elsewhere", "", "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r, body := fetchURL(t, srv.URL+tc.path)
			if r.StatusCode != tc.code {
				t.Fatalf("status %d, want %d", r.StatusCode, tc.code)
			}
			if tc.code != 200 {
				return
			}
			if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %q", ct, tc.ctype)
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if !strings.Contains(body, tc.has) {
				t.Errorf("body lacks %q", tc.has)
			}
			for _, cdn := range []string{"http://", "https://", "//cdn"} {
				if strings.Contains(body, cdn) {
					t.Errorf("body refers to %q: the page must be self-contained", cdn)
				}
			}
		})
	}
}

// TestClosed: after Close (twice, concurrently), the page's data is
// refused with ErrClosed, and the tree is no longer observed.
func TestClosed(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	if r, _ := fetchURL(t, srv.URL+"/debug/tree.json"); r.StatusCode != 200 {
		t.Fatalf("status %d before Close", r.StatusCode)
	}
	done := make(chan error, 2)
	for range 2 {
		go func() { done <- h.Close() }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/", "/events", "/debug/tree.json", "/debug/tree.dot", "/debug/tree.mmd"} {
		r, body := fetchURL(t, srv.URL+p)
		var e struct{ Error string }
		if r.StatusCode != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &e) != nil || e.Error != observe.ErrClosed.Error() {
			t.Errorf("%s after Close: %d %s", p, r.StatusCode, body)
		}
	}
}

// TestNilRoot: a handler without a Root answers 503 naming the error.
func TestNilRoot(t *testing.T) {
	h := &observe.Handler{}
	defer h.Close()
	for _, p := range []string{"/", "/events", "/debug/tree.json", "/debug/tree.dot"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", p, nil))
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "nil") {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
}
