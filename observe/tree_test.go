package observe_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// treeNode is tree.json's node, as a client reads it.
type treeNode struct {
	Key, Parent, Path, ID, Label, Name, Type, State string
	Restarts                                        int
	Flags, Tasks                                    []string
	Timers                                          []struct {
		Name string
		Runs int64
	}
	Crash *struct {
		Reason string
		At     *time.Time
		Count  int64
	}
	Supervisor *struct {
		Strategy     string
		RestartsUsed *int `json:"restarts_used"`
		MaxRestarts  int  `json:"max_restarts"`
		Window       string
		Info         []string
	}
	Terminated bool
	Children   []*treeNode
}

type treeDoc struct {
	Services      int
	Controls      bool
	TokenRequired bool `json:"token_required"`
	Root          *treeNode
	Events        []struct{ Kind, Supervisor, Child, Reason string }
}

func fetchTree(t testing.TB, url string) (treeDoc, map[string]*treeNode) {
	t.Helper()
	r, body := fetchURL(t, url+"/debug/tree.json")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("tree.json: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	var d treeDoc
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		t.Fatal(err)
	}
	byPath := map[string]*treeNode{}
	var walk func(n *treeNode)
	walk = func(n *treeNode) {
		byPath[n.Path] = n
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(d.Root)
	return d, byPath
}

func TestTreeJSON(t *testing.T) {
	tt := startTree(t, 0)
	h := &observe.Handler{Root: tt.root, Controls: true, Token: "t"}
	srv := serve(t, h)
	fetchTree(t, srv.URL) // attaches: the crash below is timed
	tt.svc["root/inner/c"].Diag().Set("custom-flag")
	before := time.Now()
	tt.crash(t, "root/inner/c", 1)
	d, byPath := fetchTree(t, srv.URL)

	if d.Services != 7 || len(byPath) != 7 || !d.Controls || !d.TokenRequired {
		t.Fatalf("services %d (paths %d), controls %v, token %v", d.Services, len(byPath), d.Controls, d.TokenRequired)
	}
	tests := []struct {
		path, id, label, typ, state string
		restarts                    int
		check                       func(*testing.T, *treeNode)
	}{
		{"root", "", "Supervisor(root)", "supervisor.Supervisor", "running", 0, func(t *testing.T, n *treeNode) {
			s := n.Supervisor
			if s == nil || s.Strategy != "one_for_one" || s.RestartsUsed == nil || *s.RestartsUsed != 0 || s.MaxRestarts != 1_000_000 || s.Window != "1m0s" {
				t.Errorf("supervisor %+v", s)
			}
			if len(n.Children) != 4 || n.Parent != "" {
				t.Errorf("%d children, parent %q", len(n.Children), n.Parent)
			}
		}},
		{"root/inner", "inner", "Supervisor(inner)", "supervisor.Supervisor", "running", 0, func(t *testing.T, n *treeNode) {
			if s := n.Supervisor; s == nil || s.RestartsUsed == nil || *s.RestartsUsed != 1 {
				t.Errorf("supervisor %+v, want 1 restart used", s)
			}
		}},
		{"root/inner/c", "c", "c", "service.FuncService", "running", 1, func(t *testing.T, n *treeNode) {
			c := n.Crash
			if c == nil || c.Reason != "boom root/inner/c" || c.Count != 1 || c.At == nil || c.At.Before(before.Add(-time.Second)) {
				t.Errorf("crash %+v", c)
			}
			if len(n.Flags) != 1 || n.Flags[0] != "custom-flag" {
				t.Errorf("flags %q", n.Flags)
			}
			if n.Parent != byPath["root/inner"].Key {
				t.Errorf("parent %q", n.Parent)
			}
		}},
		{"root/ticker", "ticker", "ticker", "observe_test.ticker", "running", 0, func(t *testing.T, n *treeNode) {
			if len(n.Timers) != 1 || n.Timers[0].Name != "tick" {
				t.Errorf("timers %+v", n.Timers)
			}
		}},
		{"root/w", "w", "w", "service.FuncService", "running", 0, func(t *testing.T, n *treeNode) {
			if n.Crash != nil || n.Flags != nil || n.Supervisor != nil || n.Children != nil {
				t.Errorf("a quiet leaf has extras: %+v", n)
			}
		}},
		{"root/inner/w", "w", "w", "service.FuncService", "running", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			n := byPath[tc.path]
			if n == nil {
				t.Fatal("missing")
			}
			if n.ID != tc.id || n.Label != tc.label || n.Type != tc.typ || n.State != tc.state || n.Restarts != tc.restarts || n.Key == "" {
				t.Errorf("got id %q label %q type %q state %q restarts %d key %q", n.ID, n.Label, n.Type, n.State, n.Restarts, n.Key)
			}
			if tc.check != nil {
				tc.check(t, n)
			}
		})
	}
	var crashed bool
	for _, e := range d.Events {
		crashed = crashed || (e.Kind == "child crashed" && e.Supervisor == "inner" && e.Child == "c" && e.Reason == "boom root/inner/c")
	}
	if !crashed {
		t.Errorf("events %+v lack the crash", d.Events)
	}
}

func TestTreeTerminated(t *testing.T) {
	tt := startTree(t, 0)
	srv := serve(t, &observe.Handler{Root: tt.root})
	if err := tt.inner.Terminate(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	_, byPath := fetchTree(t, srv.URL)
	if n := byPath["root/inner/c"]; !n.Terminated || n.State != "shutdown" {
		t.Errorf("terminated %v, state %s", n.Terminated, n.State)
	}
}

func TestTreeDotMermaid(t *testing.T) {
	tt := startTree(t, 0)
	odd := waitFunc(`we"ird<b>#`)
	if err := tt.root.Add(context.Background(), odd); err != nil {
		t.Fatal(err)
	}
	tt.crash(t, "root/a", 1)
	srv := serve(t, &observe.Handler{Root: tt.root})
	tests := []struct {
		path, ctype string
		has         []string
	}{
		{"/debug/tree.dot", "text/vnd.graphviz", []string{
			"digraph {\n", `n0 [label="Supervisor(root) [running]"];`, `[label="a [running] restarts=1"];`,
			`[label="we\"ird<b># [running]"];`, "n0 -> n1;",
		}},
		{"/debug/tree.mmd", "text/plain", []string{
			"graph TD\n", `n0["Supervisor(root) [running]"]`, `["a [running] restarts=1"]`,
			`["we#quot;ird#lt;b#gt;#35; [running]"]`, "n0 --> n1",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r, body := fetchURL(t, srv.URL+tc.path)
			if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), tc.ctype) {
				t.Fatalf("%d %s", r.StatusCode, r.Header.Get("Content-Type"))
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("lacks %q:\n%s", s, body)
				}
			}
		})
	}
}

// TestTreeWhileCrashing reads the tree while its services crash and are
// added and removed.
func TestTreeWhileCrashing(t *testing.T) {
	tt := startTree(t, 20)
	srv := serve(t, &observe.Handler{Root: tt.root})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // crashes
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			tt.svc["root/inner/x"+string(rune('0'+i%10))].Crash(context.Canceled)
		}
	}()
	go func() { // adds and removes
		defer wg.Done()
		for ctx.Err() == nil {
			f := waitFunc("temp")
			if err := tt.root.Add(ctx, f, supervisor.ChildSpec{}); err != nil {
				continue
			}
			_ = tt.root.Remove(context.Background(), f)
		}
	}()
	for range 30 {
		d, byPath := fetchTree(t, srv.URL)
		if d.Services < 27 || byPath["root/inner/x0"] == nil {
			t.Fatalf("%d services", d.Services)
		}
		for _, p := range []string{"/debug/tree.dot", "/debug/tree.mmd"} {
			if r, _ := fetchURL(t, srv.URL+p); r.StatusCode != 200 {
				t.Fatalf("%s: %d", p, r.StatusCode)
			}
		}
	}
	cancel()
	wg.Wait()
}

func TestTreeThousand(t *testing.T) {
	tt := startTree(t, 1000)
	srv := serve(t, &observe.Handler{Root: tt.root})
	start := time.Now()
	d, byPath := fetchTree(t, srv.URL)
	took := time.Since(start)
	if d.Services != 1007 || byPath["root/inner/x999"] == nil {
		t.Fatalf("%d services", d.Services)
	}
	if took > 5*time.Second {
		t.Errorf("tree.json of 1,007 services took %v", took)
	}
	t.Logf("tree.json of 1,007 services: %v", took)
}

// tasky runs two tasks of one name and one of another.
type tasky struct{ service.Base }

func (tk *tasky) OnStart(context.Context) error {
	for _, name := range []string{"serve", "fetch", "serve"} {
		if err := tk.Go(name, func(ctx context.Context) error { <-ctx.Done(); return nil }); err != nil {
			return err
		}
	}
	return nil
}

// TestTreeTasks: a service's live tasks are listed (service.Base.Tasks).
func TestTreeTasks(t *testing.T) {
	tt := startTree(t, 0)
	tk := &tasky{}
	tk.Configure(named("tasky"))
	if err := tt.root.Add(context.Background(), tk); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, &observe.Handler{Root: tt.root})
	_, byPath := fetchTree(t, srv.URL)
	if n := byPath["root/tasky"]; n == nil || strings.Join(n.Tasks, "|") != "fetch|serve|serve" {
		t.Fatalf("tasks: %+v", n)
	}
	if n := byPath["root/a"]; strings.Join(n.Tasks, "|") != "a" {
		t.Errorf("a (a Func): tasks %q, want its run", n.Tasks)
	}
}
