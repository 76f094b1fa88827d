package observe_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/supervisor"
)

// A crash reason reaches tree.json cut to 1 KiB on a rune boundary.
func TestReasonCut(t *testing.T) {
	long := strings.Repeat("é", 3000) // 6,000 bytes
	cases := []struct {
		name   string
		reason string
		want   string
	}{
		{"short", "boom", "boom"},
		{"long", long, strings.Repeat("é", 512) + "..."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
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
			f.Crash(errors.New(tc.reason))
			<-ev
			srv := serve(t, &observe.Handler{Root: sup})
			_, byPath := fetchTree(t, srv.URL)
			n := byPath["root/f"]
			if n == nil || n.Crash == nil {
				t.Fatalf("root/f: %+v", n)
			}
			if n.Crash.Reason != tc.want {
				t.Errorf("reason: %d bytes %q..., want %d bytes", len(n.Crash.Reason), n.Crash.Reason[:min(20, len(n.Crash.Reason))], len(tc.want))
			}
		})
	}
}

// A Handler serves 8 event streams at once; the ninth gets 503.
func TestStreamsBounded(t *testing.T) {
	sup := supervisor.New(supervisor.Spec{Service: quiet("root")})
	start(t, sup)
	h := &observe.Handler{Root: sup}
	srv := serve(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 8 {
		openStream(t, ctx, srv.URL) // closed by its cleanup
	}
	r, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("ninth stream: %d, want 503", r.StatusCode)
	}
}
