package observe_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
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
