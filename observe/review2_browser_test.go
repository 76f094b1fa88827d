package observe_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gomode/mode/observe"
)

// TestReview2BrowserRefusedStream: a page whose event stream is refused
// (503: the Handler serves 8 already) draws nothing (it fetches tree.json
// once its stream is open); a browser's EventSource gives up for good on
// a status other than 200, so the page stayed empty and "reconnecting"
// after a place was free. It must try again.
func TestReview2BrowserRefusedStream(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root}
	srv, closed := serveConns(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends := make([]context.CancelFunc, 8)
	for i := range ends {
		var sctx context.Context
		sctx, ends[i] = context.WithCancel(ctx)
		openStreamOwnConn(t, sctx, srv.URL)
	}
	bctx := newBrowser(t)
	const wait = 30 * time.Second
	within(t, bctx, wait, "load", chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#conn[data-conn="down"]`))
	ends[0]()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("the stream did not end")
	}
	within(t, bctx, wait, "the page's stream after a place was freed",
		chromedp.WaitVisible(`#conn[data-conn="live"]`),
		chromedp.WaitVisible(row("root/inner/w")))
}
