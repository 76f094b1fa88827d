package observe_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// serveConns serves h like serve, and reports on closed each connection
// the server has closed (after its handler returned).
func serveConns(t *testing.T, h *observe.Handler) (*httptest.Server, <-chan struct{}) {
	closed := make(chan struct{}, 16)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	srv.Start()
	t.Cleanup(func() { h.Close(); srv.Close() })
	return srv, closed
}

// openStreamOwnConn opens an event stream on a connection of its own,
// closed when ctx ends.
func openStreamOwnConn(t *testing.T, ctx context.Context, url string) *stream {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 {
		r.Body.Close()
		t.Fatalf("events: %d", r.StatusCode)
	}
	t.Cleanup(func() { r.Body.Close() })
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<22)
	return &stream{body: r.Body, sc: sc}
}

// TestReview2CrashTimeAfterStreamEnds: a crash recorded while a stream is
// open carries no time until a stream's next update stamps it. When the
// stream ends first (its page closed during the pacing gap), the crash
// was stamped by whoever read it next: tree.json, minutes later, showed
// that as the crash's time.
func TestReview2CrashTimeAfterStreamEnds(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv, closed := serveConns(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sctx, end := context.WithCancel(ctx)
	st := openStreamOwnConn(t, sctx, srv.URL)

	// A first update: the stream now paces its next by minGap.
	tt.svc["root/a"].(*service.FuncService).Crash(errors.New("first"))
	if _, ok := st.nextUpdate(t); !ok {
		t.Fatal("stream ended")
	}
	before := time.Now()
	tt.svc["root/inner/c"].(*service.FuncService).Crash(errors.New("second"))
	end() // the page goes away before its stream's next look
	select {
	case <-closed: // the stream's handler has returned
	case <-ctx.Done():
		t.Fatal("the stream's connection was not closed")
	}
	after := time.Now()
	time.Sleep(50 * time.Millisecond) // let the clock move on: a stamp taken now would show
	_, byPath := fetchTree(t, srv.URL)
	c := byPath["root/inner/c"].Crash
	if c == nil || c.At == nil {
		t.Fatalf("no crash time: %+v", c)
	}
	// The handler's clock is coarse: a record's time is at most a tick
	// (10 ms) early, a little more when the timer runs late.
	if c.At.Before(before.Add(-50*time.Millisecond)) || c.At.After(after.Add(10*time.Millisecond)) {
		t.Errorf("crash at %v, made between %v and %v (the stream ended by then)", c.At, before, after)
	}
}

// hookSvc is a service whose Tasks calls hook (once armed): it runs in
// the middle of a snapshot of the tree.
type hookSvc struct {
	service.Base
	armed atomic.Bool
	hook  func()
}

func (s *hookSvc) OnStart(context.Context) error { return nil }

func (s *hookSvc) Tasks() []string {
	if s.armed.CompareAndSwap(true, false) {
		s.hook()
	}
	return nil
}

// flipSvc is a service whose task list the test sets.
type flipSvc struct {
	service.Base
	tasks atomic.Pointer[[]string]
}

func (s *flipSvc) OnStart(context.Context) error { return nil }

func (s *flipSvc) Tasks() []string {
	if p := s.tasks.Load(); p != nil {
		return *p
	}
	return nil
}

// TestReview2UpdateTakenDuringTreeJSON: the page draws tree.json, then
// applies the updates whose t is at or after tree.json's t, dropping older
// ones as already drawn. An update whose look at the tree began before
// tree.json's and ended after it can hold a change tree.json missed: its t
// must not say it is older, or the change never reaches the page (the
// stream does not send it again).
func TestReview2UpdateTakenDuringTreeJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute})
	hk, fl := &hookSvc{}, &flipSvc{}
	hk.Configure(named("hook"))
	fl.Configure(named("flip"))
	crasher := waitFunc("crasher")
	for _, s := range []service.Service{hk, fl, crasher} { // looked at in this order
		if err := root.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	start(t, root)
	h := &observe.Handler{Root: root}
	srv := serve(t, h)
	st := openStream(t, ctx, srv.URL)

	var doc struct {
		T    int64
		Root *treeNode
	}
	hk.hook = func() { // in the stream's look, after hook's snapshot, before flip's
		r, err := http.Get(srv.URL + "/debug/tree.json")
		if err != nil {
			t.Error(err)
			return
		}
		defer r.Body.Close()
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			t.Error(err)
		}
		fl.tasks.Store(&[]string{"new"})
	}
	hk.armed.Store(true)
	crasher.Crash(errors.New("wake the stream"))
	for {
		u, ok := st.nextUpdate(t)
		if !ok {
			t.Fatal("stream ended before flip's change was sent")
		}
		for _, n := range u.Nodes {
			if n.Key != keyIn(doc.Root, "root/flip") || len(n.Tasks) == 0 {
				continue
			}
			if len(keyNode(doc.Root, "root/flip").Tasks) != 0 {
				t.Fatal("tree.json saw the change: the hook ran too late")
			}
			if u.T < doc.T {
				t.Fatalf("the update with flip's change has t %d < tree.json's %d: the page drops it, and it is never sent again", u.T, doc.T)
			}
			return
		}
	}
}

func keyNode(n *treeNode, path string) *treeNode {
	if n == nil {
		return nil
	}
	if n.Path == path {
		return n
	}
	for _, c := range n.Children {
		if f := keyNode(c, path); f != nil {
			return f
		}
	}
	return nil
}

func keyIn(n *treeNode, path string) string {
	if f := keyNode(n, path); f != nil {
		return f.Key
	}
	return ""
}

// TestReview2QuietChangeReachesPage: what changes without a state change
// (a task started by a running service, a timer's runs, a flag) reached
// the page only with the next state change of the tree, which in a quiet
// tree never came: the page showed a timer's runs frozen.
func TestReview2QuietChangeReachesPage(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := openStream(t, ctx, srv.URL)
	_, byPath := fetchTree(t, srv.URL)
	key := byPath["root/a"].Key
	if err := tt.svc["root/a"].(*service.FuncService).Go("late", func(ctx context.Context) error { <-ctx.Done(); return nil }); err != nil {
		t.Fatal(err)
	}
	for {
		u, ok := st.nextUpdate(t)
		if !ok {
			t.Fatal("the task started by a running service never reached the stream")
		}
		for _, n := range u.Nodes {
			if n.Key == key && slices.Contains(n.Tasks, "late") {
				return
			}
		}
	}
}

// TestReview2CrashDuringLook: a service crashes while a stream's look at
// the tree runs, after that look has read it: the crash and the restart
// reach the stream by the next look.
func TestReview2CrashDuringLook(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := supervisor.New(supervisor.Spec{Service: named("root"), MaxRestarts: 1000, Window: time.Minute})
	victim, hk, crasher := waitFunc("victim"), &hookSvc{}, waitFunc("crasher")
	hk.Configure(named("hook"))
	for _, s := range []service.Service{victim, hk, crasher} { // looked at in this order
		if err := root.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	start(t, root)
	h := &observe.Handler{Root: root}
	srv := serve(t, h)
	st := openStream(t, ctx, srv.URL)
	_, byPath := fetchTree(t, srv.URL)
	key := byPath["root/victim"].Key
	hk.hook = func() { victim.Crash(errors.New("during the look")) }
	hk.armed.Store(true)
	crasher.Crash(errors.New("wake the stream"))
	flashed := false
	for {
		u, ok := st.nextUpdate(t)
		if !ok {
			t.Fatalf("stream ended before the victim's crash and restart were sent (flashed %v)", flashed)
		}
		flashed = flashed || slices.Contains(u.Flash, key)
		for _, n := range u.Nodes {
			if n.Key == key && n.State == "running" && n.Restarts == 1 && n.Crash != nil && n.Crash.Count == 1 && flashed {
				return
			}
		}
	}
}

// TestReview2SubtreePathsAgree: a Handler on a subtree names each service
// the same way in tree.json, /readyz and /healthz.
func TestReview2SubtreePathsAgree(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.inner}
	defer h.Close()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/tree.json", nil))
	var doc treeDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	var tree []string
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		tree = append(tree, n.Path)
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(doc.Root)
	for _, ep := range []string{"/readyz?verbose", "/healthz?verbose"} {
		_, rep := get(t, h, ep)
		var got []string
		for _, c := range rep.Services {
			got = append(got, c.Service)
		}
		if !slices.Equal(got, tree) {
			t.Errorf("%s names %v, tree.json %v", ep, got, tree)
		}
	}
}

// TestReview2NoZeroTimes: under a crash storm, with streams opening and
// closing, neither tree.json nor a stream shows a crash or an event with
// the zero time (a record left for a stream to stamp).
func TestReview2NoZeroTimes(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	storm, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := tt.svc["root/inner/c"].(*service.FuncService)
		for storm.Err() == nil {
			c.Crash(errors.New("storm"))
			time.Sleep(time.Millisecond) // a storm, not a spin
		}
	}()
	const zero = "0001-01-01"
	for i := range 10 {
		sctx, end := context.WithCancel(ctx)
		st := openStream(t, sctx, srv.URL)
		if i%2 == 0 {
			if _, data, ok := st.next(); !ok || strings.Contains(data, zero) {
				t.Errorf("stream: %v %s", ok, data)
			}
		}
		end()
		_, body := fetchURL(t, srv.URL+"/debug/tree.json")
		if strings.Contains(body, zero) {
			t.Fatalf("tree.json shows the zero time: %s", body)
		}
	}
	stop()
	<-done
}
