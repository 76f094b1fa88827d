package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// client makes one connection per request, so that no idle connection
// (and its goroutines) outlives a test.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

// fetch gets path from the server at addr and decodes its Report.
func fetch(t *testing.T, addr net.Addr, path string) (int, observe.Report) {
	t.Helper()
	resp, err := client().Get("http://" + addr.String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	var rep observe.Report
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, rep
}

// worker is a quiet Worker running root with extensions.
func worker(root service.Service, ready func(), ext ...mode.Extension) *mode.Worker {
	l := zerolog.Nop()
	return &mode.Worker{Service: root, Logger: &l, StopTimeout: 5 * time.Second, Ready: ready, Extensions: ext}
}

// TestServerDuringRun: the endpoints answer during the start (readyz 503),
// the run (200) and not after it: the port is closed when Run returns.
func TestServerDuringRun(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: quiet("root")})
	slow := newProbe("slow")
	slow.startGate, slow.starting = make(chan struct{}), make(chan struct{})
	if err := root.Add(context.Background(), slow); err != nil {
		t.Fatal(err)
	}
	srv := &observe.Server{Addr: "127.0.0.1:0"}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- worker(root, func() { close(ready) }, srv).Run(ctx) }()

	<-slow.starting // StepStarting is over: the server listens
	addr := srv.ListenAddr()
	if addr == nil {
		t.Fatal("ListenAddr is nil while the tree starts")
	}
	if code, rep := fetch(t, addr, "/readyz"); code != 503 || rep.Failures[0].State != "starting" {
		t.Errorf("/readyz while starting: %d %+v, want 503 starting", code, rep)
	}
	if code, _ := fetch(t, addr, "/healthz"); code != 200 {
		t.Errorf("/healthz while starting: %d, want 200", code)
	}
	close(slow.startGate)
	<-ready
	for _, path := range []string{"/readyz", "/healthz"} {
		if code, rep := fetch(t, addr, path); code != 200 {
			t.Errorf("%s while running: %d %+v, want 200", path, code, rep)
		}
	}
	cancel()
	if err := <-ran; mode.ExitCode(err) != mode.ExitOK {
		t.Fatalf("Run: %v", err)
	}
	if a := srv.ListenAddr(); a != nil {
		t.Errorf("ListenAddr after the run: %v, want nil", a)
	}
	if c, err := net.Dial("tcp", addr.String()); err == nil {
		c.Close()
		t.Errorf("%v still accepts connections after the run", addr)
	}
	goleak.VerifyNone(t)
}

// TestServerStartFails: a Server that cannot listen fails the run before
// the tree starts (ExitStartFailed), leaving no goroutine behind.
func TestServerStartFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cases := []struct {
		name, addr string
		want       error  // errors.Is, when set
		text       string // in the error, when set
	}{
		{name: "empty Addr", addr: "", want: observe.ErrNoAddr},
		{name: "port in use", addr: busy.Addr().String(), text: "address already in use"},
		{name: "bad address", addr: "127.0.0.1:notaport", text: "notaport"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := newProbe("root")
			srv := &observe.Server{Addr: c.addr}
			err := worker(root, nil, srv).Run(context.Background())
			if mode.ExitCode(err) != mode.ExitStartFailed {
				t.Fatalf("Run: %v (exit %d), want ExitStartFailed", err, mode.ExitCode(err))
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Run: %v, want %v", err, c.want)
			}
			if c.text != "" && !strings.Contains(err.Error(), c.text) {
				t.Errorf("Run: %v, want it to say %q", err, c.text)
			}
			if st := root.State(); st != service.Init {
				t.Errorf("root %s, want init: the tree must not start", st)
			}
			if a := srv.ListenAddr(); a != nil {
				t.Errorf("ListenAddr: %v, want nil", a)
			}
			goleak.VerifyNone(t)
		})
	}
}

// TestServerStopCutsRequests: a request still under way when the stop's
// ctx ends (a /readyz waiting on a hung Healthcheck) is cut, so that the
// stop is bounded, and joined before WorkerPhase returns.
func TestServerStopCutsRequests(t *testing.T) {
	root := newProbe("root")
	gate, checking := make(chan struct{}), make(chan struct{}, 1)
	root.health = func(context.Context) error {
		select {
		case checking <- struct{}{}:
		default:
		}
		<-gate // ignores ctx: hung
		return nil
	}
	defer close(gate)
	srv := &observe.Server{Addr: "127.0.0.1:0"}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := worker(root, func() { close(ready) }, srv)
	w.StopTimeout = 100 * time.Millisecond
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-ready
	addr := srv.ListenAddr()
	answered := make(chan int, 1)
	go func() {
		resp, err := client().Get("http://" + addr.String() + "/readyz?timeout=1m")
		if err != nil {
			answered <- 0 // cut
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-checking
	began := time.Now()
	cancel()
	err := <-ran
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("Run took %v to return after the cancel", took)
	}
	if mode.ExitCode(err) != mode.ExitOK {
		t.Errorf("Run: %v", err) // the check was not abandoned yet when the tree stopped
	}
	// The cut request's CheckHealth abandoned the hook, before Run returned.
	if a := service.Abandoned(root); len(a) != 1 || !a[0].Probe || !strings.Contains(a[0].What, "Healthcheck (CheckHealth)") {
		t.Errorf("Abandoned: %+v, want the Healthcheck, given up on by a probe", a)
	}
	if code := <-answered; code != 0 && code != 503 {
		t.Errorf("the cut request got %d, want no answer or 503", code)
	}
}

// TestServerServesOneRunAtATime: a second StepStarting while serving is
// ErrServing; after StepStopped the Server serves again.
func TestServerServesOneRunAtATime(t *testing.T) {
	l := zerolog.Nop()
	root := newProbe("root")
	srv := &observe.Server{Addr: "127.0.0.1:0"}
	ctx := context.Background()
	phase := func(s mode.Step) error {
		return srv.WorkerPhase(ctx, mode.Phase{Step: s, Root: root, Log: &l})
	}
	for run := range 2 {
		if err := phase(mode.StepStarting); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if err := phase(mode.StepStarting); !errors.Is(err, observe.ErrServing) {
			t.Errorf("run %d: second StepStarting: %v, want ErrServing", run, err)
		}
		if code, _ := fetch(t, srv.ListenAddr(), "/readyz"); code != 503 {
			t.Errorf("run %d: /readyz of a tree not started: %d, want 503", run, code)
		}
		for _, s := range []mode.Step{mode.StepRunning, mode.StepStopping, mode.StepStopped, mode.StepStopped} {
			if err := phase(s); err != nil {
				t.Errorf("run %d: %s: %v", run, s, err)
			}
		}
		if a := srv.ListenAddr(); a != nil {
			t.Errorf("run %d: ListenAddr after StepStopped: %v", run, a)
		}
	}
}
