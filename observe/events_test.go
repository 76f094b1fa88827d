package observe_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
)

// update is the data of an "update" event, as a client reads it.
type update struct {
	T       int64
	Nodes   []*treeNode
	Flash   []string
	Events  []struct{ Kind, Supervisor, Child, Reason string }
	Dropped int
	Reshape bool
}

// stream reads a server-sent event stream.
type stream struct {
	body io.ReadCloser
	sc   *bufio.Scanner
}

func openStream(t testing.TB, ctx context.Context, url string) *stream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/event-stream" {
		r.Body.Close()
		t.Fatalf("events: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	t.Cleanup(func() { r.Body.Close() })
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(nil, 1<<22)
	return &stream{body: r.Body, sc: sc}
}

// next returns the next event's name and data; ok is false at the end of
// the stream.
func (s *stream) next() (name, data string, ok bool) {
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && name != "":
			return name, data, true
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data += strings.TrimPrefix(line, "data: ")
		}
	}
	return "", "", false
}

// nextUpdate returns the next update.
func (s *stream) nextUpdate(t testing.TB) (update, bool) {
	t.Helper()
	name, data, ok := s.next()
	if !ok {
		return update{}, false
	}
	var u update
	if name != "update" {
		t.Fatalf("event %q", name)
	}
	if err := json.Unmarshal([]byte(data), &u); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	return u, true
}

// TestEventsCrash: a crash is pushed as an update naming the service with
// its new state and restart count, flashing it; Close ends the stream.
func TestEventsCrash(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := openStream(t, ctx, srv.URL)
	_, byPath := fetchTree(t, srv.URL)
	key, innerKey := byPath["root/inner/c"].Key, byPath["root/inner"].Key

	tt.svc["root/inner/c"].Crash(errors.New("boom"))
	var flashed, restarted, innerSeen, event bool
	for !(flashed && restarted && innerSeen && event) {
		u, ok := st.nextUpdate(t)
		if !ok {
			t.Fatalf("stream ended: flashed %v restarted %v inner %v event %v", flashed, restarted, innerSeen, event)
		}
		for _, k := range u.Flash {
			flashed = flashed || k == key
		}
		for _, n := range u.Nodes {
			switch n.Key {
			case key:
				if n.Parent != innerKey || n.Path != "" || n.Label != "" {
					t.Errorf("update node %+v: want the parent's key and no names", n)
				}
				restarted = restarted || (n.State == "running" && n.Restarts == 1 && n.Crash != nil && n.Crash.Reason == "boom" && n.Crash.Count == 1)
			case innerKey:
				innerSeen = true
			}
		}
		for _, e := range u.Events {
			event = event || (e.Kind == "child crashed" && e.Child == "c" && e.Reason == "boom")
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := st.next(); ok {
		t.Fatal("the stream goes on after Close")
	}
}

// TestEventsEnd: a stream ends with its request; Close then returns at
// once; streams opened concurrently with Close end too.
func TestEventsEnd(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	st := openStream(t, ctx, srv.URL)
	cancel()
	for {
		if _, _, ok := st.next(); !ok {
			break
		}
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	streams := make([]*stream, 5)
	for i := range streams {
		streams[i] = openStream(t, ctx2, srv.URL)
	}
	start := time.Now()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v", took)
	}
	for _, st := range streams {
		if _, _, ok := st.next(); ok {
			t.Fatal("a stream goes on after Close")
		}
	}
}

// blockingWriter is a ResponseWriter whose every write waits for the test
// to take it: a client that reads when the test says.
type blockingWriter struct {
	h      http.Header
	writes chan string
}

func (w *blockingWriter) Header() http.Header { return w.h }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Flush()              {}
func (w *blockingWriter) Write(b []byte) (int, error) {
	w.writes <- string(b)
	return len(b), nil
}

// TestEventsSlowClient: while a client reads nothing, the tree's crashes
// do not wait for it, and what waits for it is bounded: the changed
// services once each, the last 64 events, the count of those dropped.
func TestEventsSlowClient(t *testing.T) {
	tt := startTree(t, 10)
	h := &observe.Handler{Root: tt.root}
	defer h.Close()
	w := &blockingWriter{h: http.Header{}, writes: make(chan string)}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		h.ServeHTTP(w, httptest.NewRequest("GET", "/events", nil).WithContext(ctx))
	}()
	<-w.writes // the opening comment
	const crashes = 200
	for i := range crashes {
		tt.crash(t, "root/inner/x"+string(rune('0'+i%10)), i/10+1) // the writer is blocked or soon is
	}
	var total, dropped, nodes int
	for dropped == 0 {
		var u update
		data := strings.TrimSuffix(strings.TrimPrefix(<-w.writes, "event: update\ndata: "), "\n\n")
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			t.Fatalf("%v: %q", err, data)
		}
		if len(u.Events) > 64 || len(u.Nodes) > 17 { // the tree's size
			t.Fatalf("an update of %d events, %d services", len(u.Events), len(u.Nodes))
		}
		total += len(u.Events) + u.Dropped
		dropped += u.Dropped
		nodes = max(nodes, len(u.Nodes))
	}
	t.Logf("%d events of %d crashes, %d dropped, at most %d services an update", total, crashes, dropped, nodes)
	cancel()
	for {
		select {
		case <-w.writes:
			continue
		case <-ended:
		}
		break
	}
}

// TestEventsPanic: a service that panics is shown crashed with the panic,
// then restarted, like any crash.
func TestEventsPanic(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := openStream(t, ctx, srv.URL)
	fetchTree(t, srv.URL) // the stream is open: the next news is the panic
	panicked := make(chan struct{})
	p := service.Func("panicky", func(ctx context.Context) error {
		select {
		case <-panicked:
			<-ctx.Done()
			return nil
		default:
			close(panicked)
			panic("kaboom")
		}
	})
	p.Configure(quiet(""))
	if err := tt.root.Add(ctx, p); err != nil {
		t.Fatal(err)
	}
	var reason string
	for reason == "" {
		u, ok := st.nextUpdate(t)
		if !ok {
			t.Fatal("stream ended")
		}
		for _, e := range u.Events {
			if e.Kind == "child crashed" && e.Child == "panicky" {
				reason = e.Reason
			}
		}
	}
	if !strings.Contains(reason, "kaboom") {
		t.Errorf("crash reason %q", reason)
	}
	waitFor(t, func() bool { return p.RestartCount() == 1 && p.State() == service.Running })
	_, byPath := fetchTree(t, srv.URL)
	if n := byPath["root/panicky"]; n == nil || n.Crash == nil || !strings.Contains(n.Crash.Reason, "kaboom") || n.Crash.Count != 1 {
		t.Errorf("panicky in tree.json: %+v", n)
	}
}

// TestEventsCloseRace: Close while streams open and close, tree.json is
// read and the tree crashes: every request returns, and no stream
// outlives Close.
func TestEventsCloseRace(t *testing.T) {
	tests := []struct {
		name    string
		streams int
	}{{"no stream", 0}, {"one stream", 1}, {"many streams", 20}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tt := startTree(t, 10)
			h := &observe.Handler{Root: tt.root}
			srv := httptest.NewServer(h)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for i := range tc.streams {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
					r, err := http.DefaultClient.Do(req)
					if err != nil {
						return
					}
					defer r.Body.Close()
					if i%2 == 0 { // half read to the end, half leave early
						_, _ = io.Copy(io.Discard, r.Body)
					}
				}()
			}
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range 50 {
					tt.svc["root/inner/x"+strconv.Itoa(i%10)].Crash(errors.New("storm"))
				}
			}()
			go func() {
				defer wg.Done()
				for range 10 {
					r, err := http.Get(srv.URL + "/debug/tree.json")
					if err == nil {
						_, _ = io.Copy(io.Discard, r.Body)
						r.Body.Close()
					}
				}
			}()
			closed := make(chan error, 2)
			go func() { closed <- h.Close() }()
			go func() { closed <- h.Close() }()
			for range 2 {
				if err := <-closed; err != nil {
					t.Fatal(err)
				}
			}
			wg.Wait() // every stream has ended without the ctx's deadline
			if ctx.Err() != nil {
				t.Fatal("streams outlived Close")
			}
		})
	}
}

// slowStart is a service whose OnStart waits for release (or its ctx).
type slowStart struct {
	service.Base
	release chan struct{}
}

func (s *slowStart) OnStart(ctx context.Context) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestEventsStateBetween: the handler hears only of the states services
// end up in (service.StateFilter), so a service that stays Starting wakes
// no stream; the next look for what changes unannounced (every 2s) shows
// it, and its Running, once released, is pushed.
func TestEventsStateBetween(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := openStream(t, ctx, srv.URL)
	s := &slowStart{release: make(chan struct{})}
	s.Configure(named("slow"))
	added := make(chan error, 1)
	go func() { added <- tt.inner.Add(ctx, s) }()
	var key string
	for key == "" { // the tree shows it once it is added
		_, byPath := fetchTree(t, srv.URL)
		if n := byPath["root/inner/slow"]; n != nil {
			key = n.Key
		}
	}
	waitFor := func(state string) {
		t.Helper()
		for {
			u, ok := st.nextUpdate(t)
			if !ok {
				t.Fatalf("the stream ended before slow was %s", state)
			}
			for _, n := range u.Nodes {
				if n.Key == key && n.State == state {
					return
				}
			}
		}
	}
	waitFor("starting")
	close(s.release)
	if err := <-added; err != nil {
		t.Fatal(err)
	}
	waitFor("running")
}
