package observe_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
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
	if c.At.Before(before.Add(-time.Millisecond)) || c.At.After(after.Add(10*time.Millisecond)) {
		t.Errorf("crash at %v, made between %v and %v (the stream ended by then)", c.At, before, after)
	}
}

