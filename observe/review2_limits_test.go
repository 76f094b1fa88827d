package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/supervisor"
)

// TestReview2SubtreeControlByPagePath: the page names the child to
// restart or terminate by its path in tree.json, which for a Handler on a
// subtree starts at the top of the whole tree; the controls resolved
// paths from the Handler's Root, so the page's buttons answered 404.
func TestReview2SubtreeControlByPagePath(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.inner, Controls: true}
	defer h.Close()
	tree := httptest.NewRecorder()
	h.ServeHTTP(tree, httptest.NewRequest("GET", "/debug/tree.json", nil))
	var doc treeDoc
	if err := json.Unmarshal(tree.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	c := keyNode(doc.Root, "root/inner/c")
	if c == nil {
		t.Fatalf("no root/inner/c in %s", tree.Body)
	}
	for _, action := range []string{"terminate", "restart"} {
		req := httptest.NewRequest("POST", "/control/"+action+"?id="+c.Path, nil)
		req.Host = "localhost:8080"
		req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, loopbackAddr))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Errorf("%s %s (the page's path): %d %s", action, c.Path, w.Code, w.Body)
		}
	}
	tt.waitRunning(t)
}

// TestReview2StreamCap: a Handler serves 8 streams; the 9th gets 503 with
// ErrTooManyStreams; a stream whose client goes away frees its place.
func TestReview2StreamCap(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv, closed := serveConns(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ends := make([]context.CancelFunc, 8)
	for i := range ends {
		var sctx context.Context
		sctx, ends[i] = context.WithCancel(ctx)
		openStreamOwnConn(t, sctx, srv.URL)
	}
	ninth := func() (int, string) {
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
		r, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		if r.StatusCode != 200 {
			var e struct{ Error string }
			_ = json.NewDecoder(r.Body).Decode(&e)
			return r.StatusCode, e.Error
		}
		return 200, ""
	}
	for range 3 { // refused, and refusing does not count
		if code, msg := ninth(); code != 503 || msg != observe.ErrTooManyStreams.Error() {
			t.Fatalf("9th stream: %d %q, want 503 %q", code, msg, observe.ErrTooManyStreams)
		}
	}
	ends[3]()
	for { // the refused ones' connections close too: wait for the stream's place
		select {
		case <-closed:
		case <-ctx.Done():
			t.Fatal("no stream ended")
		}
		if code, _ := ninth(); code == 200 {
			break
		}
	}
}

// TestReview2ReasonCutInvalidUTF8: a crash reason cut to 1 KiB lost all
// its text when the bytes at the cut were not UTF-8 (a binary response
// body): the cut looked back for a rune's start down to the first byte.
func TestReview2ReasonCutInvalidUTF8(t *testing.T) {
	ev := make(chan struct{}, 8)
	sup := supervisor.New(supervisor.Spec{Service: quiet("root"), OnEvent: func(e supervisor.Event) {
		if e.Kind == supervisor.ChildRestarted {
			ev <- struct{}{}
		}
	}})
	f := waitFunc("f")
	if err := sup.Add(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	start(t, sup)
	f.Crash(errors.New("bad response: " + strings.Repeat("\x80", 2000)))
	<-ev
	srv := serve(t, &observe.Handler{Root: sup})
	_, byPath := fetchTree(t, srv.URL)
	n := byPath["root/f"]
	if n == nil || n.Crash == nil || !strings.HasPrefix(n.Crash.Reason, "bad response: ") || len(n.Crash.Reason) > 4*1024 {
		t.Fatalf("root/f's crash: %+v", n.Crash)
	}
}
