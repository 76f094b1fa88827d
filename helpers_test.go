package mode_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

var (
	quiet   = zerolog.Nop()
	errBoom = errors.New("boom")
)

// waitLimit bounds every wait of these tests: a test that needs it has
// failed (a lost wakeup, a deadlock), it never paces a test.
const waitLimit = 20 * time.Second

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testCtx is a context bounded by waitLimit, cancelled when the test ends.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	t.Cleanup(cancel)
	return ctx
}

// journal records hook calls across a whole tree, in the order they
// happen.
type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) {
	if j == nil {
		return
	}
	j.mu.Lock()
	j.lines = append(j.lines, s)
	j.mu.Unlock()
}

// mark returns the current length, to read what happens after it.
func (j *journal) mark() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.lines)
}

// since returns the lines recorded from mark on, keeping only those whose
// first word is one of verbs (all of them when verbs is empty).
func (j *journal) since(mark int, verbs ...string) []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, l := range j.lines[mark:] {
		verb, _, _ := strings.Cut(l, " ")
		if len(verbs) == 0 || slices.Contains(verbs, verb) {
			out = append(out, l)
		}
	}
	return out
}

// node is a plain service that records its hooks in a journal and counts
// them. Optional behaviours:
//   - failStart: start number (1-based, counting every OnStart) → error
//     returned by that OnStart;
//   - exit: when set, each run has a task waiting on it: an error crashes
//     the node (a task error), nil makes the node stop itself (a normal
//     exit);
//   - started: when set, receives the start number after each successful
//     start (OnStarted), without blocking.
type node struct {
	service.Base
	name string
	j    *journal

	firstStarts, starts, restarts, stops atomic.Int32

	mu        sync.Mutex
	failStart map[int]error
	exit      chan error
	started   chan int32
}

var (
	_ service.OnFirstStarter = (*node)(nil)
	_ service.OnStarter      = (*node)(nil)
	_ service.OnStartedHook  = (*node)(nil)
	_ service.OnStopper      = (*node)(nil)
	_ service.OnRestarter    = (*node)(nil)
)

func newNode(name string, j *journal) *node {
	n := &node{name: name, j: j}
	n.Configure(service.Config{Name: name, Logger: &quiet})
	return n
}

// withExit gives the node an exit channel (see node).
func (n *node) withExit() *node {
	n.exit = make(chan error)
	return n
}

// withStarted gives the node a started channel (see node).
func (n *node) withStarted() *node {
	n.started = make(chan int32, 1000)
	return n
}

// failAt makes the k-th OnStart (1-based) fail with err.
func (n *node) failAt(k int, err error) *node {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failStart == nil {
		n.failStart = make(map[int]error)
	}
	n.failStart[k] = err
	return n
}

func (n *node) OnFirstStart(context.Context) error {
	n.firstStarts.Add(1)
	n.j.add("first " + n.name)
	return nil
}

func (n *node) OnStart(context.Context) error {
	k := n.starts.Add(1)
	n.j.add("start " + n.name)
	n.mu.Lock()
	err := n.failStart[int(k)]
	n.mu.Unlock()
	if err != nil {
		return err
	}
	if n.exit == nil {
		return nil
	}
	return n.Go("work", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case err := <-n.exit:
			if err != nil {
				return err // a crash
			}
			return n.Stop(ctx) // from inside: a normal exit
		}
	})
}

func (n *node) OnStarted(context.Context) error {
	if n.started != nil {
		select {
		case n.started <- n.starts.Load():
		default:
		}
	}
	return nil
}

func (n *node) OnStop(context.Context) error {
	n.stops.Add(1)
	n.j.add("stop " + n.name)
	return nil
}

func (n *node) OnRestart(context.Context) error {
	n.restarts.Add(1)
	n.j.add("restart " + n.name)
	return nil
}

// waitStarted waits until the node's start number k has completed.
func (n *node) waitStarted(t *testing.T, k int32) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		select {
		case got := <-n.started:
			if got >= k {
				return
			}
		case <-timeout:
			t.Fatalf("%s: start %d never completed (starts=%d, state %v)", n.name, k, n.starts.Load(), n.State())
		}
	}
}

// eventLog collects supervisor events from any number of supervisors and
// lets a test wait for them.
type eventLog struct {
	mu      sync.Mutex
	all     []supervisor.Event
	changed chan struct{} // closed and replaced at each event
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

func (e *eventLog) hook(ev supervisor.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
}

// match reports whether ev is of kind under supervisor sup for child id;
// an empty sup or id matches any.
func match(ev supervisor.Event, sup string, kind supervisor.EventKind, id string) bool {
	return ev.Kind == kind && (sup == "" || ev.Supervisor == sup) && (id == "" || ev.Child == id)
}

// wait blocks until at least n matching events have arrived and returns
// them.
func (e *eventLog) wait(t *testing.T, sup string, kind supervisor.EventKind, id string, n int) []supervisor.Event {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		got, changed := e.find(sup, kind, id)
		if len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("timed out waiting for %d %q events of %s/%s; have: %s", n, kind, sup, id, e)
		}
	}
}

func (e *eventLog) find(sup string, kind supervisor.EventKind, id string) ([]supervisor.Event, chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var got []supervisor.Event
	for _, ev := range e.all {
		if match(ev, sup, kind, id) {
			got = append(got, ev)
		}
	}
	return got, e.changed
}

func (e *eventLog) count(sup string, kind supervisor.EventKind, id string) int {
	got, _ := e.find(sup, kind, id)
	return len(got)
}

func (e *eventLog) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		fmt.Fprintf(&b, "[%s %s %s] ", ev.Supervisor, ev.Kind, ev.Child)
	}
	return b.String()
}

// newSup makes a quiet supervisor named name whose events go to ev.
func newSup(name string, ev *eventLog, spec supervisor.Spec) *supervisor.Supervisor {
	spec.Service.Name = name
	if spec.Service.Logger == nil {
		spec.Service.Logger = &quiet
	}
	if ev != nil {
		spec.OnEvent = ev.hook
	}
	return supervisor.New(spec)
}

// childInfo returns the snapshot of child id, failing the test if absent.
func childInfo(t *testing.T, sup *supervisor.Supervisor, id string) supervisor.ChildInfo {
	t.Helper()
	for _, c := range sup.Children() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("%s has no child %q: %+v", sup.ShortLabel(), id, sup.Children())
	return supervisor.ChildInfo{}
}

// childIDs returns the IDs of sup's children in start order.
func childIDs(sup *supervisor.Supervisor) []string {
	var ids []string
	for _, c := range sup.Children() {
		ids = append(ids, c.ID)
	}
	return ids
}

// stopAll stops s at the end of a test and checks the stop was clean.
func stopAll(t *testing.T, s service.Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("stop %s: %v", s.Label(), err)
	}
	if st := s.State(); st != service.Shutdown {
		t.Errorf("%s left in state %v after Stop", s.Label(), st)
	}
}
