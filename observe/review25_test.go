package observe_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// Review 25: a hostile reviewer's attacks on the endpoints of a
// misbehaving tree.

// postControl posts a control to h as a loopback client whose Host names
// loopback, and returns the status and answer.
func postControl(t testing.TB, h http.Handler, action, id string) (int, controlAnswer) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/control/"+action+"?id="+url.QueryEscape(id), nil)
	req.Host = "localhost:8080"
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, loopbackAddr))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var a controlAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Errorf("%s %s: %d %q: %v", action, id, w.Code, w.Body, err)
	}
	return w.Code, a
}

// review25Tree is a started supervisor "root" with a waitFunc "a" and a
// probe "hang" whose OnStop waits on its gate, ignoring ctx, added after
// "a", so that a stop of root is stuck on "hang" while "a" still runs.
func review25Tree(t *testing.T) (*supervisor.Supervisor, *probe, service.Service) {
	t.Helper()
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute})
	a := waitFunc("a")
	hang := newProbe("hang")
	hang.stopGate, hang.stopping = make(chan struct{}), make(chan struct{})
	for _, s := range []service.Service{a, hang} {
		if err := root.Add(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	if err := service.Start(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	return root, hang, a
}

// A control on a tree whose stop is under way (stuck in a child's OnStop)
// is refused with 409, "a supervisor not running" (Handler's doc), at
// once: not a 500, not a wait for ControlTimeout.
func TestReview25ControlOnStoppingTree(t *testing.T) {
	for _, action := range []string{"restart", "terminate"} {
		t.Run(action, func(t *testing.T) {
			root, hang, a := review25Tree(t)
			stopped := make(chan error, 1)
			go func() { stopped <- root.Stop(context.Background()) }()
			<-hang.stopping
			if st := a.State(); st != service.Running {
				t.Fatalf("a is %s, want still running while root's stop is stuck on hang", st)
			}
			h := &observe.Handler{Root: root, Controls: true, ControlTimeout: 5 * time.Second}
			defer h.Close()
			began := time.Now()
			code, ans := postControl(t, h, action, "root/a")
			took := time.Since(began)
			close(hang.stopGate)
			if err := <-stopped; err != nil {
				t.Errorf("Stop: %v", err)
			}
			if code != http.StatusConflict || ans.OK {
				t.Errorf("%s on a stopping tree: %d %+v, want 409", action, code, ans)
			}
			if took > 4*time.Second {
				t.Errorf("%s on a stopping tree took %v: waited for ControlTimeout", action, took)
			}
		})
	}
}

// A restart of a child whose OnStop hangs (ignoring ctx) answers 504
// once ControlTimeout has passed, not later; the tree recovers once the
// hook returns.
func TestReview25ControlRestartHungStop(t *testing.T) {
	root, hang, _ := review25Tree(t)
	t.Cleanup(func() { _ = root.Stop(context.Background()) })
	h := &observe.Handler{Root: root, Controls: true, ControlTimeout: 50 * time.Millisecond}
	defer h.Close()
	began := time.Now()
	code, ans := postControl(t, h, "restart", "root/hang")
	took := time.Since(began)
	if code != http.StatusGatewayTimeout || ans.OK {
		t.Errorf("restart of a hung child: %d %+v, want 504", code, ans)
	}
	if took > 5*time.Second {
		t.Errorf("restart of a hung child answered after %v, ControlTimeout 50ms", took)
	}
	<-hang.stopping
	close(hang.stopGate)
	waitFor(t, func() bool {
		return hang.State() == service.Running && len(service.Abandoned(hang)) == 0 && root.State() == service.Running
	})
}

// Restarts and terminates of one child, many at once, each get an
// answer the doc lists (200, 404, 409), never a 500; the child can be
// restarted afterwards.
func TestReview25ControlConcurrent(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root, Controls: true, ControlTimeout: 10 * time.Second}
	defer h.Close()
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := range 16 {
		action := "restart"
		if i%3 == 0 {
			action = "terminate"
		}
		wg.Go(func() {
			code, ans := postControl(t, h, action, "root/inner/c")
			mu.Lock()
			defer mu.Unlock()
			codes[fmt.Sprintf("%s %d", action, code)]++
			switch code {
			case http.StatusOK, http.StatusNotFound, http.StatusConflict:
			default:
				t.Errorf("%s: %d %+v", action, code, ans)
			}
		})
	}
	wg.Wait()
	t.Logf("answers: %v", codes)
	if code, ans := postControl(t, h, "restart", "root/inner/c"); code != http.StatusOK {
		t.Fatalf("restart after the race: %d %+v", code, ans)
	}
	tt.waitRunning(t)
}

// A Handler whose Root is nil (a misconfiguration) answers every route
// without panicking: the probes fail.
func TestReview25NilRoot(t *testing.T) {
	h := &observe.Handler{Controls: true}
	defer h.Close()
	for _, path := range []string{"/healthz", "/readyz", "/debug/tree.json", "/debug/tree.dot", "/debug/tree.mmd", "/", "/events"} {
		t.Run(path, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("GET %s panicked: %v", path, p)
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
			if (path == "/healthz" || path == "/readyz") && w.Code != http.StatusServiceUnavailable {
				t.Errorf("GET %s: %d, want 503", path, w.Code)
			}
		})
	}
	t.Run("control", func(t *testing.T) {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("control panicked: %v", p)
			}
		}()
		if code, _ := postControl(t, h, "restart", "x"); code == http.StatusOK {
			t.Errorf("control on a nil root: 200")
		}
	})
}

// Names with HTML, quotes, line breaks and '#' reach tree.json as valid
// JSON, and the dot and Mermaid renderings escaped: no raw quote or line
// break inside a label.
func TestReview25OddNames(t *testing.T) {
	const odd = "</script><img src=x onerror=alert(1)>\"q\"\n#1 \\ ]"
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 10, Window: time.Minute})
	if err := root.Add(context.Background(), waitFunc(odd), supervisor.ChildSpec{ID: odd}); err != nil {
		t.Fatal(err)
	}
	start(t, root)
	h := &observe.Handler{Root: root}
	defer h.Close()
	getBody := func(path string) string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		if w.Header().Get("Content-Type") == "" || strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: Content-Type %q", path, w.Header().Get("Content-Type"))
		}
		return w.Body.String()
	}
	var doc struct {
		Root struct {
			Children []struct{ ID, Name string }
		}
	}
	if err := json.Unmarshal([]byte(getBody("/debug/tree.json")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Root.Children) != 1 || doc.Root.Children[0].ID != odd {
		t.Errorf("tree.json children %+v, want the id %q", doc.Root.Children, odd)
	}
	for _, path := range []string{"/debug/tree.dot", "/debug/tree.mmd"} {
		for _, line := range strings.Split(strings.TrimSpace(getBody(path)), "\n") {
			if i := strings.Index(line, `["`); path == "/debug/tree.mmd" && i >= 0 {
				if inner := line[i+2 : len(line)-2]; strings.Contains(inner, `"`) {
					t.Errorf("%s: raw quote in %q", path, line)
				}
			}
			if path == "/debug/tree.dot" && strings.Contains(line, "label=") {
				inner := strings.ReplaceAll(line[strings.Index(line, `label="`)+7:len(line)-3], `\\`, "")
				if strings.Contains(strings.ReplaceAll(inner, `\"`, ""), `"`) {
					t.Errorf("%s: raw quote in %q", path, line)
				}
			}
		}
	}
	ch := &observe.Handler{Root: root, Controls: true}
	defer ch.Close()
	if code, ans := postControl(t, ch, "restart", odd); code != http.StatusOK || ans.ID != odd {
		t.Errorf("restart by the odd id: %d %+v", code, ans)
	}
}

// Children added and removed while the endpoints read the tree: every
// answer is well formed (-race finds the data races).
func TestReview25ReshapeDuringReads(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root, Controls: true}
	defer h.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			s := waitFunc(fmt.Sprintf("tmp%d", i%4))
			if err := tt.inner.Add(context.Background(), s); err != nil {
				t.Errorf("Add: %v", err)
				return
			}
			if err := tt.inner.Remove(context.Background(), s); err != nil {
				t.Errorf("Remove: %v", err)
				return
			}
		}
	})
	paths := []string{"/healthz?verbose", "/readyz?verbose", "/debug/tree.json", "/debug/tree.dot", "/debug/tree.mmd"}
	for range 20 {
		for _, p := range paths {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
			if strings.HasSuffix(p, ".json") || strings.Contains(p, "z?") {
				if !json.Valid(w.Body.Bytes()) {
					t.Errorf("GET %s: invalid JSON %q", p, w.Body)
				}
			}
			if p == "/healthz?verbose" && w.Code != http.StatusOK {
				t.Errorf("GET %s during reshapes: %d %s", p, w.Code, w.Body)
			}
		}
		if code, ans := postControl(t, h, "restart", "tmp1"); code == http.StatusInternalServerError {
			t.Errorf("restart of a child coming and going: %d %+v", code, ans)
		}
	}
	cancel()
	wg.Wait()
}

// A notify socket that nobody reads (systemd's PID 1 stalled: Linux
// queues 10 datagrams, then the sender blocks) does not hang the Worker:
// each notification gives up after a bound, and the run starts and stops.
func TestReview25SystemdNotifySocketNotRead(t *testing.T) {
	sd := listenNotify(t, 20*time.Millisecond)
	full, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sd.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	for i := 0; ; i++ { // fill the socket's queue
		_ = full.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
		if _, err := full.Write([]byte("FILL=1")); err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() || i == 0 {
				t.Fatalf("filling the notify socket: %d datagrams, %v", i, err)
			}
			break
		}
	}
	root, _ := newTree(t)
	stop, result := runWorker(t, root, nil, &observe.Systemd{})
	waitState(t, root, service.Running)
	began := time.Now()
	stop()
	select {
	case err := <-result:
		if err != nil {
			t.Logf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		for range 1000 { // unblock the notifications, for goleak
			if len(sd.read()) == 0 {
				break
			}
		}
		<-result
		t.Fatalf("the Worker did not stop within 10s of its cancel, blocked notifying an unread socket (took %v once read)", time.Since(began))
	}
}

// A control while the tree starts, stuck in a child's OnStart: on a
// sibling already started and on the child that is starting, each
// answers within a bound (a result or 409), without waiting for the
// start to end or for ControlTimeout.
func TestReview25ControlDuringStart(t *testing.T) {
	for _, tc := range []struct{ action, id string }{
		{"restart", "root/a"}, {"terminate", "root/a"},
		{"restart", "root/slow"}, {"terminate", "root/slow"},
	} {
		t.Run(tc.action+" "+tc.id, func(t *testing.T) {
			root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute})
			slow := newProbe("slow")
			slow.startGate, slow.starting = make(chan struct{}), make(chan struct{})
			for _, s := range []service.Service{waitFunc("a"), slow} {
				if err := root.Add(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			started := make(chan error, 1)
			go func() { started <- service.Start(context.Background(), root) }()
			t.Cleanup(func() { _ = root.Stop(context.Background()) })
			<-slow.starting
			h := &observe.Handler{Root: root, Controls: true, ControlTimeout: 5 * time.Second}
			defer h.Close()
			answered := make(chan int, 1)
			began := time.Now()
			go func() { code, _ := postControl(t, h, tc.action, tc.id); answered <- code }()
			var code int
			select {
			case code = <-answered:
			case <-time.After(3 * time.Second):
				close(slow.startGate)
				code = <-answered
				t.Errorf("%s %s during the start: answered %d only once the start went on (%v)", tc.action, tc.id, code, time.Since(began))
				<-started
				return
			}
			close(slow.startGate)
			err := <-started
			t.Logf("%s %s during the start: %d; start: %v", tc.action, tc.id, code, err)
			switch code {
			case http.StatusOK, http.StatusConflict:
			default:
				t.Errorf("%s %s during the start: %d, want 200 or 409", tc.action, tc.id, code)
			}
		})
	}
}

// A control on a child whose restart (after a crash) is stuck in its
// OnStart, under a running supervisor: an answer the doc lists (200, 409,
// or 504 past ControlTimeout), never a 500, within ControlTimeout.
func TestReview25ControlChildStuckRestarting(t *testing.T) {
	for _, action := range []string{"restart", "terminate"} {
		t.Run(action, func(t *testing.T) {
			root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute})
			slow := newProbe("slow")
			if err := root.Add(context.Background(), slow); err != nil {
				t.Fatal(err)
			}
			start(t, root)
			gate := make(chan struct{})
			slow.startGate, slow.starting = gate, make(chan struct{})
			slow.Crash(fmt.Errorf("boom"))
			<-slow.starting
			h := &observe.Handler{Root: root, Controls: true, ControlTimeout: 500 * time.Millisecond}
			defer h.Close()
			began := time.Now()
			code, ans := postControl(t, h, action, "root/slow")
			took := time.Since(began)
			close(gate)
			t.Logf("%s of a child stuck restarting: %d %+v after %v", action, code, ans, took)
			switch code {
			case http.StatusOK, http.StatusConflict, http.StatusGatewayTimeout:
			default:
				t.Errorf("%s of a child stuck restarting: %d %+v", action, code, ans)
			}
			if took > 5*time.Second {
				t.Errorf("answered after %v, ControlTimeout 500ms", took)
			}
		})
	}
}

// Many clients probing /readyz at once, while a Healthcheck is slow (it
// returns at its ctx's end): how many calls of it run at once. /readyz is
// unauthenticated: each probe calling every Healthcheck makes it an
// amplifier onto the dependencies they ping.
func TestReview25ConcurrentReadyz(t *testing.T) {
	var mu sync.Mutex
	cur, peak, calls := 0, 0, 0
	all := make(chan struct{})
	const clients = 16
	p := newProbe("db")
	p.health = func(ctx context.Context) error {
		mu.Lock()
		cur++
		calls++
		peak = max(peak, cur)
		if calls == clients {
			close(all)
		}
		mu.Unlock()
		defer func() { mu.Lock(); cur--; mu.Unlock() }()
		select {
		case <-ctx.Done():
		case <-all:
		}
		return nil
	}
	start(t, p)
	h := &observe.Handler{Root: p}
	defer h.Close()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			code, rep := get(t, h, "/readyz?timeout=2s")
			if code != http.StatusOK && code != http.StatusServiceUnavailable {
				t.Errorf("/readyz: %d %+v", code, rep)
			}
		})
	}
	wg.Wait()
	t.Logf("%d probes at once: %d Healthcheck calls, %d at once", clients, calls, peak)
	if peak > 1 {
		t.Errorf("%d concurrent /readyz probes ran the Healthcheck %d times at once: an unauthenticated client multiplies the pings of every dependency (concurrent probes must share one check)", clients, peak)
	}
}

// A child terminated (gone for good) whose stop ran out of budget, its
// OnStop still running: that hook is a hang (Liveness: "no service of the
// tree runs user code abandoned by a Stop"), whether or not the child
// still counts for readiness.
func TestReview25TerminatedChildHung(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute})
	hang := newProbe("hang")
	cfg := quiet("hang")
	cfg.StopTimeout = 20 * time.Millisecond
	hang.Configure(cfg)
	hang.stopGate, hang.stopping = make(chan struct{}), make(chan struct{})
	if err := root.Add(context.Background(), hang, supervisor.ChildSpec{ID: "hang"}); err != nil {
		t.Fatal(err)
	}
	start(t, root)
	err := root.Terminate(context.Background(), "hang")
	t.Cleanup(func() { close(hang.stopGate); waitNotAbandoned(t, hang) })
	if len(service.Abandoned(hang)) == 0 {
		t.Fatalf("Terminate: %v; nothing abandoned", err)
	}
	h := &observe.Handler{Root: root}
	defer h.Close()
	code, rep := get(t, h, "/healthz")
	if code != http.StatusServiceUnavailable || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0].Error, "hung") {
		t.Errorf("/healthz with a terminated child's OnStop hung: %d %+v, want 503 naming root/hang", code, rep)
	}
	if err := observe.Healthy(context.Background(), root); err == nil {
		t.Errorf("Healthy: nil with a terminated child's OnStop hung")
	}
	if code, rep := get(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with a terminated child's OnStop hung: %d %+v, want 503 (nothing hung)", code, rep)
	}
}

// One client's /readyz?timeout=1ms (the parameter is unauthenticated)
// must not make a probe give up on a Healthcheck that passes within a
// second, which would leave it running and every probe failing ("slow")
// meanwhile: ?timeout is raised to a second at least.
func TestReview25ShortTimeoutPoisonsProbes(t *testing.T) {
	p := newProbe("db")
	p.health = func(ctx context.Context) error {
		// A dependency that answers in 100ms (a model of one, not a sync).
		select {
		case <-time.After(100 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	start(t, p)
	h := &observe.Handler{Root: p}
	defer h.Close()
	defer waitNotAbandoned(t, p)
	for _, q := range []string{"/readyz?timeout=1ms", "/readyz?timeout=1ns", "/readyz"} {
		if code, rep := get(t, h, q); code != http.StatusOK {
			t.Errorf("%s: %d %+v, want 200 (a timeout is a second at least)", q, code, rep)
		}
	}
}

// A child waiting out a long backoff: /healthz 200 (recovering is live),
// /readyz 503 naming it; a control restart starts it at once (200), and
// /readyz passes again.
func TestReview25RestartDuringBackoff(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute,
		Backoff: strategy.Backoff{Min: time.Hour, Max: time.Hour, Factor: 1, NoJitter: true}})
	c := waitFunc("c")
	if err := root.Add(context.Background(), c, supervisor.ChildSpec{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	events := metricsTapEvents(t, root)
	start(t, root)
	c.Crash(fmt.Errorf("boom"))
	metricsWaitFor(t, events, supervisor.BackoffStarted, "")
	h := &observe.Handler{Root: root, Controls: true, ControlTimeout: 5 * time.Second}
	defer h.Close()
	if code, rep := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during a backoff: %d %+v", code, rep)
	}
	if code, rep := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || len(rep.Failures) != 1 || rep.Failures[0].Service != "root/c" {
		t.Errorf("/readyz during a backoff: %d %+v, want 503 naming root/c", code, rep)
	}
	if code, ans := postControl(t, h, "restart", "root/c"); code != http.StatusOK {
		t.Fatalf("restart during a backoff: %d %+v", code, ans)
	}
	waitFor(t, func() bool { return c.State() == service.Running })
	if code, rep := get(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after the restart: %d %+v", code, rep)
	}
}

// A Server stopping while 8 event streams (read by nobody), a storm of
// crashes, control restarts and probes from many clients are under way:
// the Worker's Run returns within its StopTimeout and a margin, the port
// is closed, and (TestMain's goleak) nothing is left running.
func TestReview25ServerStopUnderLoad(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1 << 20, Window: time.Millisecond})
	kids := make([]*service.FuncService, 4)
	for i := range kids {
		kids[i] = waitFunc(fmt.Sprintf("k%d", i))
		if err := root.Add(context.Background(), kids[i], supervisor.ChildSpec{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	srv := &observe.Server{Addr: "127.0.0.1:0", Controls: true}
	ready := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := worker(root, func() { close(ready) }, srv)
	w.StopTimeout = 2 * time.Second
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	<-ready
	base := "http://" + srv.ListenAddr().String()
	sctx, send := context.WithCancel(context.Background())
	defer send()
	for range 8 {
		openStreamOwnConn(t, sctx, base)
	}
	stop := make(chan struct{})
	var load sync.WaitGroup
	for i := range 8 {
		load.Go(func() {
			c := client()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				var r *http.Response
				var err error
				switch (i + j) % 4 {
				case 0:
					kids[(i+j)%len(kids)].Crash(fmt.Errorf("storm"))
					continue
				case 1:
					r, err = c.Post(base+"/control/restart?id="+fmt.Sprint((i+j)%len(kids)), "", nil)
				case 2:
					r, err = c.Get(base + "/readyz?verbose")
				default:
					r, err = c.Get(base + "/debug/tree.json")
				}
				if err != nil {
					continue // the server is going away
				}
				if r.StatusCode == http.StatusInternalServerError {
					t.Errorf("%s: 500", r.Request.URL)
				}
				r.Body.Close()
			}
		})
	}
	waitFor(t, func() bool { return kids[0].RestartCount() >= 3 })
	began := time.Now()
	cancel()
	select {
	case err := <-ran:
		t.Logf("Run: %v after %v", err, time.Since(began))
	case <-time.After(w.StopTimeout + 8*time.Second):
		t.Errorf("Run did not return within %v of its cancel", w.StopTimeout+8*time.Second)
		<-ran
	}
	close(stop)
	load.Wait()
	if r, err := client().Get(base + "/healthz"); err == nil {
		r.Body.Close()
		t.Errorf("the port still answers after Run: %d", r.StatusCode)
	}
}

// A nested supervisor that escalates (its child crashed past its
// intensity) is restarted by the root: liveness never fails, the
// escalation is counted for that supervisor, and once it runs again the
// probes pass and its children can be controlled.
func TestReview25NestedEscalation(t *testing.T) {
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 100, Window: time.Minute})
	inner := supervisor.New(supervisor.Spec{Service: named("inner"), MaxRestarts: 1, Window: time.Hour})
	c := waitFunc("c")
	if err := inner.Add(context.Background(), c, supervisor.ChildSpec{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	if err := root.Add(context.Background(), inner, supervisor.ChildSpec{ID: "inner"}); err != nil {
		t.Fatal(err)
	}
	m := &observe.Metrics{}
	reg := metricsAttach(t, m, root)
	events := metricsTapEvents(t, root)
	start(t, root)
	h := &observe.Handler{Root: root, Controls: true}
	defer h.Close()
	for i := range 2 {
		waitFor(t, func() bool { return c.State() == service.Running && c.RestartCount() == i })
		c.Crash(fmt.Errorf("boom"))
		if code, rep := get(t, h, "/healthz"); code != http.StatusOK {
			t.Errorf("/healthz during an escalation below the root: %d %+v", code, rep)
		}
	}
	metricsWaitFor(t, events, supervisor.MaxRestartsExceeded, "")
	waitFor(t, func() bool {
		return inner.RestartCount() >= 1 && inner.State() == service.Running && c.State() == service.Running
	})
	if code, rep := get(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz once inner runs again: %d %+v", code, rep)
	}
	if code, ans := postControl(t, h, "restart", "root/inner/c"); code != http.StatusOK {
		t.Errorf("restart under the restarted supervisor: %d %+v", code, ans)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var inner1 bool
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			if mf.GetName() == "mode_escalations_total" && mt.GetLabel()[0].GetValue() == "root/inner" {
				inner1 = mt.GetCounter().GetValue() == 1
			}
		}
	}
	if !inner1 {
		t.Errorf("mode_escalations_total{service=\"root/inner\"} is not 1")
	}
}
