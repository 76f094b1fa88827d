package service_test

// Regression tests for the defects of "engine at the edges" (issue 10)
// that live in package service, named TestDefectNN; the others are in
// supervisor/defects_test.go.
//
// Defect 16 (Cron is wall-clock: never fires before its wall time after a
// clock step back; the skipped-hour rule only for jumps under 3h) is
// covered by TestCronWallStepBack (cron_test.go) and TestCronNextLongJump
// (cron_plan_test.go).

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// Defect 4: a Start that fails because its ctx expired leaves no task
// running: the tasks started in OnStart are joined before Start returns,
// whichever step was waiting when the ctx ended.
func TestDefect04ExpiredStartLeavesNoTask(t *testing.T) {
	for _, tc := range []struct {
		name    string
		waitIn  string // the step that waits: "OnStart", "OnStarted", "child"
		honours bool   // the waiting hook returns when its ctx ends
	}{
		{"OnStart honours ctx", "OnStart", true},
		{"OnStarted honours ctx", "OnStarted", true},
		{"child's OnStart honours ctx", "child", true},
		{"OnStart ignores ctx", "OnStart", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release, hookDone := make(chan struct{}), make(chan struct{})
			defer func() {
				close(release)
				if !tc.honours {
					<-hookDone // the abandoned hook, before goleak looks
				}
			}()
			wait := func(ctx context.Context) error {
				defer close(hookDone)
				if !tc.honours {
					<-release
					return nil
				}
				<-ctx.Done()
				return ctx.Err()
			}
			var tasks []chan struct{}
			startTask := func(s *hookSvc) error {
				done := make(chan struct{})
				tasks = append(tasks, done)
				return s.Go("worker", func(ctx context.Context) error {
					defer close(done)
					<-ctx.Done()
					return nil
				})
			}
			root := newHookSvc("root")
			root.onStart = func(ctx context.Context) error {
				if err := startTask(root); err != nil {
					return err
				}
				if tc.waitIn == "OnStart" {
					return wait(ctx)
				}
				return nil
			}
			if tc.waitIn == "OnStarted" {
				root.onStarted = wait
			}
			if tc.waitIn == "child" {
				child := newHookSvc("child")
				child.onStart = func(ctx context.Context) error {
					if err := startTask(child); err != nil {
						return err
					}
					return wait(ctx)
				}
				must(t, root.AddDependency(child))
			}

			ctx, cancel := context.WithTimeout(bg(t), 100*time.Millisecond)
			defer cancel()
			err := noHang(t, func() error { return service.Start(ctx, root) })
			if err == nil {
				t.Fatal("Start succeeded past its ctx")
			}
			// The hook's ctx is cancelled when the start ctx ends: the hook
			// returns context.Canceled, or the start sees the deadline.
			if tc.honours && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				t.Fatalf("Start: %v, want the ctx's end", err)
			}
			for i, done := range tasks {
				if !isClosed(done) {
					t.Fatalf("task %d still running after the failed Start (%v)", i, err)
				}
			}
			if root.State() != service.Init {
				t.Fatalf("root %v after a failed start", root.State())
			}
		})
	}
}

// bulky is a service whose value is large; loud's String is huge. Neither
// belongs in an error text.
type bulky struct {
	service.Base
	payload [8]string
}

type loud struct{ service.Base }

func (*loud) String() string { return strings.Repeat("LOUD", 2000) }

// Defect 6 (graph error texts): the errors of failed AddDependency calls
// are short and name the services by their labels, never by formatting
// the service values.
func TestDefect06GraphErrorsAreShort(t *testing.T) {
	type parent interface {
		service.Service
		Configure(service.Config)
		AddDependency(service.Service) error
	}
	mk := func(kind, name string) parent {
		var s parent
		if kind == "bulky" {
			b := &bulky{}
			for i := range b.payload {
				b.payload[i] = strings.Repeat("x", 1000)
			}
			s = b
		} else {
			s = &loud{}
		}
		s.Configure(service.Config{Name: name, Logger: &quiet})
		return s
	}
	for _, kind := range []string{"bulky", "loud"} {
		for _, tc := range []struct {
			name string
			add  func(t *testing.T) (service.Service, error)
			want error
		}{
			{"child of another parent", func(t *testing.T) (service.Service, error) {
				p1, p2, c := mk(kind, "p1"), mk(kind, "p2"), mk(kind, "kid")
				must(t, p1.AddDependency(c))
				return c, p2.AddDependency(c)
			}, service.ErrHasParent},
			{"ancestor under its descendant", func(t *testing.T) (service.Service, error) {
				p, c := mk(kind, "top"), mk(kind, "kid")
				must(t, p.AddDependency(c))
				return p, c.AddDependency(p)
			}, service.ErrCycle},
			{"added twice", func(t *testing.T) (service.Service, error) {
				p, c := mk(kind, "top"), mk(kind, "kid")
				must(t, p.AddDependency(c))
				return c, p.AddDependency(c)
			}, service.ErrAlreadyAdded},
			{"unnamed child of another parent", func(t *testing.T) (service.Service, error) {
				p1, p2, c := mk(kind, "p1"), mk(kind, "p2"), mk(kind, "")
				must(t, p1.AddDependency(c))
				return c, p2.AddDependency(c)
			}, service.ErrHasParent},
		} {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				named, err := tc.add(t)
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				msg := err.Error()
				if len(msg) > 200 || strings.Contains(msg, "xxxx") || strings.Contains(msg, "LOUD") {
					t.Fatalf("error text of %d bytes formats a service: %.300q", len(msg), msg)
				}
				if !strings.Contains(msg, named.ShortLabel()) {
					t.Fatalf("error %q does not name %q", msg, named.ShortLabel())
				}
			})
		}
	}
}

// restartRec records the deadline of its OnRestart's ctx.
type restartRec struct {
	service.Base
	mu       sync.Mutex
	deadline time.Time
	has      bool
}

func (r *restartRec) OnRestart(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deadline, r.has = ctx.Deadline()
	return nil
}

var _ service.OnRestarter = (*restartRec)(nil)

// Defect 7: with StopTimeout 100ms, a Stop whose OnStop ignores its ctx
// (and would take 1.5s) returns by its budget with ErrStopTimeout naming
// OnStop; OnRestart's ctx has a deadline even when Restart's has none.
func TestDefect07StopTimeoutBoundsHooks(t *testing.T) {
	t.Run("OnStop ignoring ctx", func(t *testing.T) {
		release, returned := make(chan struct{}), make(chan struct{})
		defer func() {
			close(release)
			<-returned
		}()
		h := newHookSvc("slow")
		h.Configure(service.Config{Name: "slow", Logger: &quiet, StopTimeout: 100 * time.Millisecond})
		h.onStop = func(context.Context) error {
			defer close(returned)
			t := time.NewTimer(1500 * time.Millisecond)
			defer t.Stop()
			select { // ignores its ctx
			case <-release:
			case <-t.C:
			}
			return nil
		}
		must(t, service.Start(bg(t), h))
		t0 := time.Now()
		err := noHang(t, func() error { return h.Stop(context.Background()) })
		if el := time.Since(t0); el > time.Second {
			t.Fatalf("Stop took %v with StopTimeout 100ms", el)
		}
		if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), "OnStop") {
			t.Fatalf("Stop: %v, want ErrStopTimeout naming OnStop", err)
		}
		if h.State() != service.Shutdown {
			t.Fatalf("state %v", h.State())
		}
	})

	for _, tc := range []struct {
		name        string
		stopTimeout time.Duration
		limit       time.Duration // the deadline is at most this far from the call
	}{
		{"OnRestart ctx, StopTimeout 100ms", 100 * time.Millisecond, 100 * time.Millisecond},
		{"OnRestart ctx, default StopTimeout", 0, service.DefaultStopTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &restartRec{}
			r.Configure(service.Config{Name: "r", Logger: &quiet, StopTimeout: tc.stopTimeout})
			must(t, service.Start(bg(t), r))
			t0 := time.Now()
			must(t, r.Restart(context.Background()))
			r.mu.Lock()
			has, dl := r.has, r.deadline
			r.mu.Unlock()
			if !has {
				t.Fatal("OnRestart's ctx has no deadline")
			}
			if dl.After(t0.Add(tc.limit + time.Second)) {
				t.Fatalf("OnRestart's deadline %v after the call, want ≤ %v", dl.Sub(t0), tc.limit)
			}
			must(t, r.Stop(bg(t)))
		})
	}
}

// httpSvc serves HTTP from OnStart (Serve in a task) and shuts the server
// down in OnStop.
type httpSvc struct {
	service.Base
	onStarted func(ctx context.Context, addr string) error

	addr    string
	srv     *http.Server
	served  chan struct{} // closed when Serve has returned
	stopped chan struct{} // closed when OnStop has run
}

func (h *httpSvc) OnStart(context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.addr = ln.Addr().String()
	h.srv = &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ReadHeaderTimeout: 5 * time.Second,
	}
	h.served, h.stopped = make(chan struct{}), make(chan struct{})
	srv, served := h.srv, h.served
	return h.Go("serve", func(context.Context) error {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
}

func (h *httpSvc) OnStarted(ctx context.Context) error {
	if h.onStarted == nil {
		return nil
	}
	return h.onStarted(ctx, h.addr)
}

func (h *httpSvc) OnStop(ctx context.Context) error {
	defer close(h.stopped)
	return h.srv.Shutdown(ctx)
}

var (
	_ service.OnStarter     = (*httpSvc)(nil)
	_ service.OnStartedHook = (*httpSvc)(nil)
	_ service.OnStopper     = (*httpSvc)(nil)
)

// get fetches http://addr/ without keeping the connection.
func get(ctx context.Context, addr string) error {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if string(body) != "ok" {
		return errors.New("unexpected body " + string(body))
	}
	return nil
}

// Defect 15: an HTTP server started in OnStart, then a later start step
// fails: Start returns quickly (the rollback shuts the server down instead
// of waiting for a budget), the port is free afterwards, and no goroutine
// is left.
func TestDefect15FailedStartShutsServerDown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		startIn time.Duration // the start ctx's timeout (0: the test's)
		build   func(h *httpSvc)
		wantErr []error // any of them
	}{
		{name: "OnStarted fails", build: func(h *httpSvc) {
			h.onStarted = func(ctx context.Context, addr string) error {
				if err := get(ctx, addr); err != nil { // the server serves
					return err
				}
				return errBoom
			}
		}, wantErr: []error{errBoom}},
		{name: "child's start fails", build: func(h *httpSvc) {
			c := newHookSvc("child")
			c.onStart = func(context.Context) error { return errBoom }
			if err := h.AddDependency(c); err != nil {
				panic(err)
			}
		}, wantErr: []error{errBoom}},
		{name: "start ctx ends in OnStarted", startIn: 200 * time.Millisecond, build: func(h *httpSvc) {
			h.onStarted = func(ctx context.Context, _ string) error {
				<-ctx.Done()
				return ctx.Err()
			}
		}, wantErr: []error{context.Canceled, context.DeadlineExceeded}}, // the hook's ctx is cancelled when the start ctx ends
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			if tc.startIn > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.startIn)
				defer cancel()
			}
			h := &httpSvc{}
			h.Configure(service.Config{Name: "web", Logger: &quiet})
			tc.build(h)
			t0 := time.Now()
			err := noHang(t, func() error { return service.Start(ctx, h) })
			if el := time.Since(t0); el > 2*time.Second {
				t.Fatalf("failed Start took %v", el)
			}
			if !slices.ContainsFunc(tc.wantErr, func(want error) bool { return errors.Is(err, want) }) {
				t.Fatalf("Start: %v, want one of %v", err, tc.wantErr)
			}
			if !isClosed(h.stopped) || !isClosed(h.served) {
				t.Fatalf("rollback left the server running: OnStop ran %v, Serve returned %v", isClosed(h.stopped), isClosed(h.served))
			}
			ln, lerr := net.Listen("tcp", h.addr)
			if lerr != nil {
				t.Fatalf("port not freed: %v", lerr)
			}
			must(t, ln.Close())
			if h.State() != service.Init {
				t.Fatalf("state %v", h.State())
			}
		})
	}
}
