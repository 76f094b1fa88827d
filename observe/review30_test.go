package observe_test

// Review 30: an end-to-end storm over a whole daemon. A mode.Worker runs a
// tree (a root supervisor, a nested supervisor with a backoff, Func leaves
// of each restart type, a Base service with a timer and a Healthcheck)
// with an observe.Server extension, while goroutines POST controls, GET
// the probes, the tree and the event stream, crash leaves, Restart the
// root or the nested supervisor, Add and Remove leaves and send the
// Worker dump signals; the Worker's ctx is cancelled in the middle of it.
// Checked: Run returns in time with ExitOK, nothing of the tree runs
// after it (every function entered has returned), every HTTP answer is
// JSON with a documented status, the port is closed, goleak finds
// nothing, and -race finds nothing.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// r30Count counts the entries into and returns from the tree's code.
type r30Count struct {
	in, out atomic.Int64
}

func (c *r30Count) enter() func() {
	c.in.Add(1)
	return func() { c.out.Add(1) }
}

// r30Leaf is a Func leaf that runs until its ctx ends, a crash is sent on
// crash, or (sometimes) a short while has passed, when it exits normally.
func r30Leaf(name string, cnt *r30Count, crash <-chan struct{}, seed uint64) service.Service {
	var n atomic.Uint64
	return service.Func(name, func(ctx context.Context) error {
		defer cnt.enter()()
		r := rand.New(rand.NewPCG(seed, n.Add(1)))
		life := time.Duration(50+r.IntN(500)) * time.Millisecond
		t := time.NewTimer(life)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-crash:
			return errors.New("r30: crashed on purpose")
		case <-t.C:
			if r.IntN(2) == 0 {
				return nil
			}
			return errors.New("r30: crashed by itself")
		}
	})
}

// r30Svc is a Base service with a timer and a Healthcheck (monitored).
type r30Svc struct {
	service.Base
	cnt *r30Count
	bad atomic.Bool // the Healthcheck fails
}

func newR30Svc(name string, cnt *r30Count) *r30Svc {
	s := &r30Svc{cnt: cnt}
	l := zerolog.Nop()
	s.Configure(service.Config{Name: name, Logger: &l, MonitoringInterval: 30 * time.Millisecond})
	return s
}

func (s *r30Svc) OnStart(ctx context.Context) error {
	return s.Every(10*time.Millisecond, func(ctx context.Context) error {
		defer s.cnt.enter()()
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Millisecond):
		}
		return nil
	})
}

func (s *r30Svc) Healthcheck(ctx context.Context) error {
	defer s.cnt.enter()()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * time.Millisecond):
	}
	if s.bad.Load() {
		return errors.New("r30: unhealthy")
	}
	return nil
}

// r30Answer checks one HTTP answer: a documented status and a JSON body.
// tally, if not nil, counts the answers by route and status.
func r30Answer(t *testing.T, what string, resp *http.Response, tally *sync.Map) {
	t.Helper()
	if tally != nil {
		route, _, _ := strings.Cut(what, "?")
		n, _ := tally.LoadOrStore(fmt.Sprint(route, " ", resp.StatusCode), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return // the connection closed by the server's stop
	}
	switch resp.StatusCode {
	case 200, 404, 409, 503, 504:
	default:
		t.Errorf("%s: status %d (undocumented): %s", what, resp.StatusCode, body)
		return
	}
	if !json.Valid(body) {
		t.Errorf("%s: status %d, body not JSON: %q", what, resp.StatusCode, body)
	}
}

func TestReview30DaemonStorm(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { r30Storm(t, seed) })
	}
}

func r30Storm(t *testing.T, seed uint64) {
	leaks := goleak.IgnoreCurrent()
	// SIGUSR1 must never get Go's default effect (exit) between the
	// Worker's signal.Stop and the dumper's last signal.
	keep := make(chan os.Signal, 16)
	signal.Notify(keep, syscall.SIGUSR1)
	defer signal.Stop(keep)

	cnt := &r30Count{}
	crash := make(chan struct{})
	l := zerolog.Nop()
	root := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "root", Logger: &l},
		Strategy:    strategy.OneForOne,
		MaxRestarts: 1_000_000,
		Window:      time.Second,
	})
	inner := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "inner", Logger: &l},
		Strategy:    strategy.RestForOne,
		MaxRestarts: 1_000_000,
		Window:      time.Second,
		Backoff:     strategy.Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond, Factor: 2},
	})
	svc := newR30Svc("svc", cnt)
	bg := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(root.Add(bg, r30Leaf("perm", cnt, crash, seed)))
	must(root.Add(bg, r30Leaf("trans", cnt, crash, seed), supervisor.ChildSpec{Restart: strategy.Transient}))
	must(root.Add(bg, r30Leaf("temp", cnt, crash, seed), supervisor.ChildSpec{Restart: strategy.Temporary}))
	must(inner.Add(bg, r30Leaf("a", cnt, crash, seed)))
	must(inner.Add(bg, svc))
	must(inner.Add(bg, r30Leaf("b", cnt, crash, seed), supervisor.ChildSpec{Restart: strategy.Transient}))
	must(root.Add(bg, inner))

	srv := &observe.Server{Addr: "127.0.0.1:0", Controls: true}
	const stopTimeout = 3 * time.Second
	ready := make(chan struct{})
	w := &mode.Worker{Service: root, Logger: &l, StopTimeout: stopTimeout, DumpTo: io.Discard,
		Ready: func() { close(ready) }, Extensions: []mode.Extension{srv}}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	select {
	case <-ready:
	case err := <-ran:
		t.Fatalf("Run returned before Ready: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("not ready within 5s")
	}
	addr := srv.ListenAddr().String()
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	var (
		end      = make(chan struct{}) // the storm ends
		stopping atomic.Bool           // the Worker's ctx is cancelled: errors may come
		wg       sync.WaitGroup
		dyn      atomic.Int64
		added    sync.Map // name -> service.Service, the dynamic leaves
		returned = make(chan struct{})
		tally    sync.Map // "route status" -> *atomic.Int64
		err      error
	)
	go func() { err = <-ran; close(returned) }()
	ids := []string{"perm", "trans", "temp", "inner", "a", "b", "svc", "root/inner/a", "root/inner", "nope", "dyn1", "dyn2"}
	storm := func(k uint64, fn func(r *rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, k))
			for {
				select {
				case <-end:
					return
				default:
				}
				fn(r)
				time.Sleep(time.Duration(r.IntN(5)) * time.Millisecond)
			}
		}()
	}
	httpErr := func(what string, err error) {
		if !stopping.Load() {
			t.Errorf("%s: %v (before the stop)", what, err)
		}
	}
	for g := range 2 { // controls
		storm(uint64(10+g), func(r *rand.Rand) {
			action := []string{"restart", "terminate"}[r.IntN(2)]
			path := "/control/" + action + "?id=" + ids[r.IntN(len(ids))]
			resp, err := hc.Post("http://"+addr+path, "", nil)
			if err != nil {
				httpErr("POST "+path, err)
				return
			}
			r30Answer(t, "POST "+path, resp, &tally)
		})
	}
	for g := range 2 { // probes and the tree
		storm(uint64(20+g), func(r *rand.Rand) {
			path := []string{"/healthz", "/readyz", "/readyz?timeout=1ms", "/readyz?timeout=50ms", "/readyz?timeout=2s", "/debug/tree.json"}[r.IntN(6)]
			resp, err := hc.Get("http://" + addr + path)
			if err != nil {
				httpErr("GET "+path, err)
				return
			}
			r30Answer(t, "GET "+path, resp, &tally)
		})
	}
	storm(30, func(r *rand.Rand) { // the event stream, read a little
		rctx, rcancel := context.WithTimeout(bg, time.Duration(50+r.IntN(300))*time.Millisecond)
		defer rcancel()
		req, _ := http.NewRequestWithContext(rctx, "GET", "http://"+addr+"/events", nil)
		resp, err := hc.Do(req)
		if err != nil {
			if rctx.Err() == nil {
				httpErr("GET /events", err)
			}
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			r30Answer(t, "GET /events", resp, &tally)
			return
		}
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return // a line cut by the read's end is not checked
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok && !json.Valid([]byte(data)) {
				t.Errorf("GET /events: data not JSON: %q", data)
			}
		}
	})
	storm(40, func(r *rand.Rand) { // crashes
		select {
		case crash <- struct{}{}:
		case <-time.After(time.Millisecond):
		}
		if r.IntN(20) == 0 {
			svc.bad.Store(!svc.bad.Load())
		}
	})
	storm(50, func(r *rand.Rand) { // Restart of the root or the nested supervisor
		time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
		rctx, rcancel := context.WithTimeout(bg, time.Second)
		defer rcancel()
		if r.IntN(3) == 0 {
			// Once the Worker stops, the root is retired: its Restart
			// returns ErrStopped (TestReview30RootRestartDuringWorkerStop).
			_ = root.Restart(rctx)
		} else {
			_ = inner.Restart(rctx)
		}
	})
	storm(60, func(r *rand.Rand) { // Add and Remove leaves
		sup := []*supervisor.Supervisor{root, inner}[r.IntN(2)]
		if r.IntN(2) == 0 {
			name := fmt.Sprint("dyn", dyn.Add(1))
			s := r30Leaf(name, cnt, crash, seed)
			spec := supervisor.ChildSpec{Restart: strategy.RestartType(r.IntN(3))}
			actx, acancel := context.WithTimeout(bg, time.Second)
			defer acancel()
			if sup.Add(actx, s, spec) == nil {
				added.Store(name, [2]any{sup, s})
			}
			return
		}
		added.Range(func(k, v any) bool {
			p := v.([2]any)
			rctx, rcancel := context.WithTimeout(bg, time.Second)
			defer rcancel()
			_ = p[0].(*supervisor.Supervisor).Remove(rctx, p[1].(service.Service))
			added.Delete(k)
			return false
		})
	})
	storm(70, func(r *rand.Rand) { // dumps
		time.Sleep(time.Duration(r.IntN(50)) * time.Millisecond)
		if r.IntN(2) == 0 {
			_ = syscall.Kill(os.Getpid(), syscall.SIGUSR1)
		} else {
			_ = w.Dump()
		}
	})

	r := rand.New(rand.NewPCG(seed, 0))
	time.Sleep(time.Duration(800+r.IntN(700)) * time.Millisecond)
	cancelled := time.Now()
	stopping.Store(true)
	cancel()
	select {
	case <-returned:
	case <-time.After(stopTimeout + 5*time.Second):
		close(end)
		wg.Wait()
		t.Fatalf("Run did not return within StopTimeout+5s:\n%s", w.Dump())
	}
	took := time.Since(cancelled)
	close(end)
	wg.Wait()
	// ExitOK; or ExitFailure for a stop that returned an error other than
	// a timeout (documented): a leaf's crash that came as it was stopped.
	if err != nil && (mode.ExitCode(err) != mode.ExitFailure || !strings.Contains(err.Error(), "stop: ") || !strings.Contains(err.Error(), "crashed")) {
		t.Errorf("Run after ctx cancelled: %v (exit code %d), want nil (ExitOK) or a stop error (ExitFailure)", err, mode.ExitCode(err))
	}
	if took > stopTimeout+2*time.Second {
		t.Errorf("Run took %v after the cancel, StopTimeout is %v", took, stopTimeout)
	}
	if in, out := cnt.in.Load(), cnt.out.Load(); in != out {
		time.Sleep(100 * time.Millisecond)
		if in, out := cnt.in.Load(), cnt.out.Load(); in != out {
			t.Errorf("after Run returned (at %v): %d entries into the tree's code, %d returns: something still runs\n%s", took, in, out, w.Dump())
		}
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("port %s still open after Run", addr)
	}
	var answers []string
	tally.Range(func(k, v any) bool {
		answers = append(answers, fmt.Sprint(k, ": ", v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(answers)
	t.Logf("seed %d: %d calls of the tree's code, stop took %v; answers: %s", seed, cnt.in.Load(), took, strings.Join(answers, ", "))
	tr.CloseIdleConnections()
	goleak.VerifyNone(t, leaks)
}

// r30Hold is an extension whose StepStopped (after the tree's stop, before
// Run returns) tells the test and waits for its go-ahead.
type r30Hold struct {
	stopped, goOn chan struct{}
}

func (h *r30Hold) WorkerPhase(ctx context.Context, p mode.Phase) error {
	if p.Step == mode.StepStopped {
		close(h.stopped)
		<-h.goOn
	}
	return nil
}

// A Restart of the root asked while the Worker stops, after the tree's
// stop has returned (an admin endpoint, a task of a service outside the
// tree) and before Run returns (the extensions' StepStopped, here held):
// Restart documents that it starts a service again from Shutdown, and Run
// returned leaving the whole tree running behind it. Found by the storm
// (1 run in 10 at -count=10, a root.Restart 4ms after the cancel, Run
// returned at 9ms: the tree's leaves ran on, goleak). Now the Worker
// retires its root as its stop begins: the Restart returns ErrStopped.
func TestReview30RootRestartDuringWorkerStop(t *testing.T) {
	l := zerolog.Nop()
	root := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root", Logger: &l}})
	var running atomic.Int64
	leaf := service.Func("leaf", func(ctx context.Context) error {
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done()
		return nil
	})
	if err := root.Add(context.Background(), leaf); err != nil {
		t.Fatal(err)
	}
	hold := &r30Hold{stopped: make(chan struct{}), goOn: make(chan struct{})}
	ready := make(chan struct{})
	w := &mode.Worker{Service: root, Logger: &l, StopTimeout: 3 * time.Second, DumpTo: io.Discard,
		Ready: func() { close(ready) }, Extensions: []mode.Extension{hold}}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-ready
	cancel()
	<-hold.stopped
	rerr := root.Restart(context.Background())
	close(hold.goOn)
	if !errors.Is(rerr, service.ErrStopped) {
		t.Errorf("root.Restart during the Worker's StepStopped: %v, want ErrStopped", rerr)
	}
	if err := <-ran; err != nil {
		t.Errorf("Run: %v", err)
	}
	if st := root.State(); st != service.Shutdown || running.Load() != 0 {
		t.Errorf("after Run returned: root %s, %d leaves running (root.Restart during StepStopped: %v)", st, running.Load(), rerr)
		sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer scancel()
		_ = root.Stop(sctx)
	}
}

// A terminate whose child's stop returns an error (here the child's run
// returns one as it is stopped; in the storm, a crash that came as it was
// stopped) has terminated the child: 200, ok, with the error; it was a
// 500. A restart whose start fails is a 409 (it was a 500 too).
func TestReview30ControlChildErrors(t *testing.T) {
	l := zerolog.Nop()
	root := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root", Logger: &l}, MaxRestarts: 1000, Window: time.Minute})
	var failStart atomic.Bool
	sulky := service.Func("sulky", func(ctx context.Context) error {
		<-ctx.Done()
		return errors.New("r30: sulks as it stops")
	})
	picky := &r30Picky{fail: &failStart}
	picky.Configure(service.Config{Name: "picky", Logger: &l})
	ctx := context.Background()
	for _, s := range []service.Service{sulky, picky} {
		if err := root.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if err := service.Start(ctx, root); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Stop(ctx) }()
	h := &observe.Handler{Root: root, Controls: true}
	defer h.Close()

	code, ans := postControl(t, h, "terminate", "sulky")
	if code != http.StatusOK || !ans.OK || !strings.Contains(ans.Error, "sulks") {
		t.Errorf("terminate of a child whose stop fails: %d %+v, want 200, ok, with its error", code, ans)
	}
	if st := sulky.State(); st != service.Shutdown {
		t.Errorf("sulky after terminate: %s, want shutdown", st)
	}

	if code, ans := postControl(t, h, "terminate", "picky"); code != http.StatusOK || !ans.OK || ans.Error != "" {
		t.Fatalf("terminate picky: %d %+v", code, ans)
	}
	failStart.Store(true)
	code, ans = postControl(t, h, "restart", "picky")
	if code != http.StatusConflict || ans.OK || !strings.Contains(ans.Error, "refuses") {
		t.Errorf("restart of a child whose start fails: %d %+v, want 409 with its error", code, ans)
	}
}

// r30Picky is a service whose OnStart fails while fail is set.
type r30Picky struct {
	service.Base
	fail *atomic.Bool
}

func (p *r30Picky) OnStart(ctx context.Context) error {
	if p.fail.Load() {
		return errors.New("r30: refuses to start")
	}
	return nil
}
