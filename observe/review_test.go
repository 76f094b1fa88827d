package observe_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
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

// A Server's StepStopped stops serving within its ctx (Server's doc), even
// while an event stream is blocked writing to a client that reads nothing:
// the Handler's Close waits up to the write's deadline for such a stream,
// and the connections are cut only after it.
func TestReviewServerStopWithinCtxWhileAStreamIsBlocked(t *testing.T) {
	crash := make(chan struct{})
	// A service whose node is large: 1,500 tasks of 2 KB names (a crash
	// reason would be cut to 1 KB), so that the update its restart makes is
	// more than the sockets buffer (~3 MB).
	f := &bigTasks{crash: crash}
	nop := zerolog.Nop()
	f.Configure(service.Config{Name: "big", Logger: &nop})
	root := supervisor.New(supervisor.Spec{Service: quiet("root"), MaxRestarts: 100, Window: time.Minute})
	if err := root.Add(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	start(t, root)
	srv := &observe.Server{Addr: "127.0.0.1:0"}
	ph := mode.Phase{Root: root, Log: &nop}
	ph.Step = mode.StepStarting
	if err := srv.WorkerPhase(context.Background(), ph); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func(d time.Duration) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		began := time.Now()
		ph.Step = mode.StepStopped
		if err := srv.WorkerPhase(ctx, ph); err != nil {
			t.Error(err)
		}
		stopped = true
		return time.Since(began)
	}
	defer func() {
		if !stopped {
			stop(time.Minute)
		}
	}()
	addr := srv.ListenAddr().String()

	// A client that reads nothing, with a small receive buffer.
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	stalled, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := io.WriteString(stalled, "GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Once it has the stream's first comment, it has subscribed: the
	// crash makes an update, whose write blocks.
	br := bufio.NewReader(stalled)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "retry:") {
			break
		}
	}
	close(crash)
	deadline := time.Now().Add(time.Minute) // nothing tells when a write blocks: poll the stacks
	for !streamBlockedWriting() {
		if time.Now().After(deadline) {
			t.Fatal("the stream did not block writing")
		}
		time.Sleep(time.Millisecond)
	}
	if took := stop(200 * time.Millisecond); took > 3*time.Second {
		t.Errorf("StepStopped with a 200ms ctx took %v", took)
	}
}

// streamBlockedWriting reports whether an event stream's goroutine waits
// for its connection to take what it writes.
func streamBlockedWriting() bool {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "serveEvents") && strings.Contains(g, "waitWrite") {
			return true
		}
	}
	return false
}

// valueService is a Service that is not a pointer: a struct holding its
// Base by pointer.
type valueService struct{ *service.Base }

// Attach takes any Service: one that is not a pointer is not nil, and
// must not make it panic (reflect's IsNil on a struct).
func TestReviewMetricsAttachValueService(t *testing.T) {
	s := valueService{&service.Base{}}
	s.Configure(quiet("value"))
	m := &observe.Metrics{}
	var detach func()
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Attach panicked: %v", v)
			}
		}()
		detach, err = m.Attach(s)
	}()
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	detach()
}

// bigTasks runs 1,500 tasks with long names; one of them crashes the
// service when crash is closed (once: its restart runs them again).
type bigTasks struct {
	service.Base
	crash   chan struct{}
	crashed atomic.Bool
}

func (b *bigTasks) OnStart(context.Context) error {
	for i := range 1500 {
		name := fmt.Sprintf("%04d-%s", i, strings.Repeat("t", 2000))
		if err := b.Go(name, func(ctx context.Context) error {
			if i == 0 {
				select {
				case <-b.crash:
					if !b.crashed.Swap(true) {
						return errors.New("boom")
					}
				case <-ctx.Done():
				}
			}
			<-ctx.Done()
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
