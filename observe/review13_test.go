package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// rawUpdate is an update as sent, its nodes kept raw and its events'
// times read.
type rawUpdate struct {
	Nodes   *[]json.RawMessage
	Events  []struct{ At time.Time }
	Dropped int
	Reshape bool
}

// nextRaw returns the next update's data, its nodes decoded, and the
// update with its nodes raw.
func (s *stream) nextRaw(t *testing.T) (data string, nodes []*treeNode, raw rawUpdate, ok bool) {
	t.Helper()
	name, data, ok := s.next()
	if !ok {
		return "", nil, rawUpdate{}, false
	}
	if name != "update" {
		t.Fatalf("event %q", name)
	}
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		t.Fatalf("%v: %s", err, data)
	}
	if raw.Nodes == nil {
		t.Fatalf("update without a nodes array: %s", data)
	}
	for _, b := range *raw.Nodes {
		var n treeNode
		if err := json.Unmarshal(b, &n); err != nil {
			t.Fatalf("node %s: %v", b, err)
		}
		nodes = append(nodes, &n)
	}
	return data, nodes, raw, true
}

// TestReview13StreamShapeChanges: with a page open, a change of the
// tree's shape made by the supervisor (Remove; a Replacement's restart,
// which puts a fresh node in the old one's place; Terminate, which keeps
// the node) reaches the page well before the 2s look for what changes
// unannounced: a removed service says reshape (the sent map, kept across
// looks, forgets it), a fresh one comes with its ID (ChildInfo.Service is
// the fresh instance), a terminated one says so. Every update has a nodes
// array, even an empty one.
func TestReview13StreamShapeChanges(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, ctx context.Context, sup *supervisor.Supervisor) // on child "w"
		want func(nodes []*treeNode, raw rawUpdate, wKey string) bool
	}{
		{"remove", func(t *testing.T, ctx context.Context, sup *supervisor.Supervisor) {
			if err := sup.Remove(ctx, sup.Child("w")); err != nil {
				t.Fatal(err)
			}
		}, func(_ []*treeNode, raw rawUpdate, _ string) bool { return raw.Reshape }},
		{"replacement", func(t *testing.T, ctx context.Context, sup *supervisor.Supervisor) {
			sup.Child("w").Crash(errors.New("replace me"))
		}, func(nodes []*treeNode, raw rawUpdate, wKey string) bool {
			for _, n := range nodes {
				if n.Key != wKey && n.State == "running" && n.Type == "" && raw.Reshape {
					return true // a fresh node; its ID shows in tree.json (checked below)
				}
			}
			return false
		}},
		{"terminate", func(t *testing.T, ctx context.Context, sup *supervisor.Supervisor) {
			if err := sup.Terminate(ctx, "w"); err != nil {
				t.Fatal(err)
			}
		}, func(nodes []*treeNode, _ rawUpdate, wKey string) bool {
			for _, n := range nodes {
				if n.Key == wKey && n.Terminated && n.State == "shutdown" {
					return true
				}
			}
			return false
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sup := supervisor.New(supervisor.Spec{Service: named("sup"), MaxRestarts: 100, Window: time.Minute})
			if err := sup.Add(ctx, waitFunc("a")); err != nil {
				t.Fatal(err)
			}
			replacement := func() service.Service { return waitFunc("w") }
			if err := sup.Add(ctx, waitFunc("w"), supervisor.ChildSpec{ID: "w", Replacement: replacement}); err != nil {
				t.Fatal(err)
			}
			if err := service.Start(ctx, sup); err != nil {
				t.Fatal(err)
			}
			defer sup.Stop(context.Background())
			h := &observe.Handler{Root: sup}
			srv := serve(t, h)
			st := openStream(t, ctx, srv.URL)
			_, byPath := fetchTree(t, srv.URL)
			wKey := byPath["sup/w"].Key
			time.Sleep(300 * time.Millisecond) // the stream has made its first look, and waits
			began := time.Now()
			tc.do(t, ctx, sup)
			for {
				data, nodes, raw, ok := st.nextRaw(t)
				if !ok {
					t.Fatal("the stream ended")
				}
				if tc.want(nodes, raw, wKey) {
					if took := time.Since(began); took > 1500*time.Millisecond {
						t.Errorf("the change reached the page after %v: at the look for unannounced changes, not woken", took)
					}
					break
				}
				if time.Since(began) > 5*time.Second {
					t.Fatalf("no update shows the change; last: %s", data)
				}
			}
			_, byPath = fetchTree(t, srv.URL)
			if tc.name == "replacement" {
				if n := byPath["sup/w"]; n == nil || n.ID != "w" || n.Key == wKey {
					t.Errorf("the fresh w in tree.json: %+v", n)
				}
			}
		})
	}
}

// TestReview13MomentsInOrder: under a crash storm with a page open, the
// events' times never go back, within an update and from one to the
// next, and none is later than when the update was read, nor much earlier
// than the storm.
func TestReview13MomentsInOrder(t *testing.T) {
	tt := startTree(t, 8)
	h := &observe.Handler{Root: tt.root}
	srv := serve(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := openStream(t, ctx, srv.URL)
	fetchTree(t, srv.URL)
	began := time.Now()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				tt.svc["root/inner/x"+strconv.Itoa((g*2+i)%8)].Crash(errors.New("storm"))
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	var last time.Time
	events := 0
	for events < 4*30*2 { // a crash and a restart each
		_, _, raw, ok := st.nextRaw(t)
		if !ok {
			t.Fatal("the stream ended")
		}
		read := time.Now()
		events += raw.Dropped
		for _, e := range raw.Events {
			events++
			if e.At.Before(last) {
				t.Errorf("event at %v after one at %v", e.At, last)
			}
			if e.At.After(read) || e.At.Before(began.Add(-50*time.Millisecond)) {
				t.Errorf("event at %v: storm began %v, update read %v", e.At, began, read)
			}
			last = e.At
		}
	}
}

// TestReview13CloseDuringStorm closes the handler while crashes come (the
// coarse clock's timer ticking) and streams and tree.json read, then goes
// on crashing after Close (the observer detached, a late call reading the
// stopped clock): nothing races (-race), and the clock leaves no
// goroutine behind (goleak in TestMain).
func TestReview13CloseDuringStorm(t *testing.T) {
	for round := range 5 {
		t.Run(strconv.Itoa(round), func(t *testing.T) {
			tt := startTree(t, 8)
			h := &observe.Handler{Root: tt.root}
			srv := serve(t, h)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st := openStream(t, ctx, srv.URL)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for g := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						tt.svc["root/inner/x"+strconv.Itoa((g+i)%8)].Crash(errors.New("storm"))
						time.Sleep(200 * time.Microsecond)
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, _, ok := st.next(); !ok {
						return
					}
				}
			}()
			time.Sleep(time.Duration(5+round*7) * time.Millisecond)
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Millisecond) // crashes after Close
			close(stop)
			wg.Wait()
		})
	}
}

// slowLook is a service whose Tasks takes look: a stand-in for a tree
// so large that a look at it takes that long. It records when it is
// called, and closes third at the third call.
type slowLook struct {
	service.Base
	look  time.Duration
	third chan struct{}
	mu    sync.Mutex
	calls []time.Time
}

func (s *slowLook) OnStart(context.Context) error { return nil }

func (s *slowLook) Tasks() []string {
	s.mu.Lock()
	s.calls = append(s.calls, time.Now())
	if len(s.calls) == 3 {
		close(s.third)
	}
	s.mu.Unlock()
	time.Sleep(s.look) // the look's cost: what the stream paces itself by
	return nil
}

// TestReview13HugeTreeCostBounded: a stream whose look at the tree takes
// long (here 150ms, as a look at a tree of about 130,000 services does)
// waits at least 25 times as long before the next (at most 4% of a core,
// as before the 2s cap on the wait), even on a quiet tree, which is
// looked at every 2s for what changes unannounced: with the cap alone, 8
// pages on a tree whose look takes a second would keep 4 cores busy.
func TestReview13HugeTreeCostBounded(t *testing.T) {
	t.Parallel()
	const look = 150 * time.Millisecond
	sup := supervisor.New(supervisor.Spec{Service: named("sup")})
	s := &slowLook{look: look, third: make(chan struct{})}
	s.Configure(named("slow"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sup.Add(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := service.Start(ctx, sup); err != nil {
		t.Fatal(err)
	}
	defer sup.Stop(context.Background())
	h := &observe.Handler{Root: sup}
	srv := serve(t, h)
	openStream(t, ctx, srv.URL)
	select { // the look as the stream opens, the quiet one 2s later, and the next
	case <-s.third:
	case <-ctx.Done():
		t.Fatal("fewer than 3 looks in 20s")
	}
	s.mu.Lock()
	calls := slices.Clone(s.calls)
	s.mu.Unlock()
	for i := 2; i < len(calls); i++ { // calls[0]: the look as the stream opens
		if gap := calls[i].Sub(calls[i-1]); gap < 25*look {
			t.Errorf("looks of %v %v apart: more than 4%% of a core (looks at %v)", look, gap, calls)
		}
	}
}
