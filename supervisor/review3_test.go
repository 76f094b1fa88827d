package supervisor_test

// Regression tests from a third hostile review. Each one failed on the engine as
// reviewed and passes since its fix; the comment above each names the defect.

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// R3-1: OnEvent run on the supervisor's goroutine AFTER run has cleared
// s.loop (the RequestFailed events of the requests still queued when the
// goroutine stops) is not registered in the seam: callback only registers
// when s.loop != nil. A Stop of the supervisor made from that OnEvent is
// then not "as from inside": it waits for the stop in progress, which waits
// for this very goroutine. Both Stops fail with ErrStopTimeout after the
// whole budget (the outer one may just make it) instead of the inner one
// returning nil at once.
func TestReview3OnEventAtGoroutineEndIsACallback(t *testing.T) {
	ctx := bg(t)
	var s *supervisor.Supervisor
	var armed atomic.Bool
	inner := make(chan error, 1)
	s = supervisor.New(supervisor.Spec{
		Service: service.Config{Name: "sup", Logger: &quiet, StopTimeout: time.Second},
		OnEvent: func(e supervisor.Event) {
			if e.Kind == supervisor.RequestFailed && armed.CompareAndSwap(true, false) {
				inner <- s.Stop(context.Background()) // a callback: must not wait
			}
		},
	})
	w := newD("w")
	w.onStop = func(ctx context.Context, _ int32) error {
		// Queued (the ctx carries the supervisor's mark): answered with
		// ErrNotRunning when the goroutine ends, as a RequestFailed event.
		return s.Add(ctx, newD("late"))
	}
	must(t, s.Add(ctx, w))
	must(t, service.Start(ctx, s))
	armed.Store(true)
	begin := time.Now()
	outer := returnsWithin(t, 10*time.Second, func() error { return s.Stop(ctx) })
	took := time.Since(begin)
	innerErr := recv(t, inner, "the Stop made from OnEvent")
	if outer != nil || innerErr != nil {
		t.Fatalf("Stop from OnEvent at the goroutine's end waited for that goroutine (took %v):\n outer Stop: %v\n Stop from OnEvent: %v", took, outer, innerErr)
	}
	if took > 800*time.Millisecond {
		t.Fatalf("Stop took %v: it waited for a Stop made from its own OnEvent", took)
	}
}

// gated is a child whose Config (which the supervisor reads when it makes
// the child's record, to find its ID) blocks once armed, until released:
// it holds Add between its check that the supervisor's goroutine does not
// run and the child's registration.
type gated struct {
	service.Base
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newGated(name string) *gated {
	g := &gated{entered: make(chan struct{}), release: make(chan struct{})}
	g.Configure(service.Config{Name: name, Logger: &quiet})
	return g
}

func (g *gated) Config() service.Config {
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.release
	}
	return g.Base.Config()
}

// R3-2: addDirect's "late" path registers the child first, then hands it
// to the goroutine that started meanwhile (submit with req.c set). When
// that goroutine stops before handling the request (here: the supervisor's
// start is aborted by a Stop), handle answers ErrNotRunning, but the child stays registered
// and attached: Add returned an error and the child IS a child (listed by
// Children, started with the next Start; adding it again fails).
func TestReview3LateAddFailsButChildStays(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
	a := newD("a")
	aIn := make(chan struct{})
	a.onStart = func(ctx context.Context, n int32) error {
		if n == 1 {
			close(aIn)
			select { // honours the start ctx, and the supervisor's stop
			case <-ctx.Done():
				return ctx.Err()
			case <-s.Done():
				return errors.New("supervisor stopping")
			}
		}
		return nil
	}
	must(t, s.Add(ctx, a))

	g := newGated("g")
	g.armed.Store(true)
	addErr := make(chan error, 1)
	go func() { addErr <- s.Add(ctx, g) }()
	recv(t, g.entered, "Add reading the child's config")

	startErr := make(chan error, 1)
	go func() { startErr <- service.Start(ctx, s) }()
	recv(t, aIn, "the start of a") // the goroutine runs and read its children
	close(g.release)               // Add registers g: late, handed to the goroutine
	// Let the request reach the queue: Add waits for its reply.
	waitFrame(t, "supervisor.(*Supervisor).submit")
	// Stop aborts the start: the run ends, then the goroutine, before it
	// gets to the request.
	stopErr := make(chan error, 1)
	go func() { stopErr <- s.Stop(ctx) }()
	if err := recv(t, startErr, "the supervisor's start"); err == nil {
		t.Fatal("start of the supervisor did not fail")
	}
	_ = recv(t, stopErr, "the supervisor's Stop")
	err := recv(t, addErr, "Add")
	_, listed := childInfo(t, s, "g")
	if err != nil && (listed || g.Node().Parent() != nil) {
		t.Errorf("Add returned %v, yet g is still a child (listed %v, attached %v)", err, listed, g.Node().Parent() != nil)
	}
	if err == nil && !listed {
		t.Errorf("Add returned nil, but g is not a child")
	}
	_ = s.Stop(ctx)
}

// R3-3: a Stop arriving during the supervisor's Start does not reach the
// start of its children: it cancels the supervisor's run, but the
// goroutine starts the children under the start ctx only (a child's hook
// ctx is its own run's plus the start ctx), and Machinery.Start waits
// under the start ctx only. A child whose OnStart honours its ctx then
// holds the aborted Start forever (with a ctx that never ends), and the
// Stop fails with ErrStopTimeout after the whole budget ("the starting in
// progress did not end"). Documented: "A Stop arriving during a Start
// aborts it: the start rolls back".
func TestReview3StopDuringStartReachesChildren(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{Service: service.Config{Name: "sup", StopTimeout: time.Second}}, nil)
	a := newD("a")
	aIn, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	a.onStart = func(ctx context.Context, n int32) error {
		if n == 1 {
			close(aIn)
			select { // honours its ctx (release: only to end the test)
			case <-ctx.Done():
				return ctx.Err()
			case <-release:
				return errors.New("released by the test: the Stop never reached this hook")
			}
		}
		return nil
	}
	must(t, s.Add(ctx, a))
	startErr := make(chan error, 1)
	go func() { startErr <- service.Start(context.Background(), s) }()
	recv(t, aIn, "the start of a")
	stopErr := returnsWithin(t, 10*time.Second, func() error { return s.Stop(ctx) })
	var err error
	select {
	case err = <-startErr:
	case <-time.After(5 * time.Second):
		release <- struct{}{}
		err = <-startErr
		t.Errorf("Start still blocked 5s after a Stop aborted it; Stop returned %v", stopErr)
	}
	if stopErr != nil {
		t.Errorf("Stop during the start: %v", stopErr)
	}
	if err == nil {
		t.Errorf("Start aborted by a Stop returned nil")
	}
	t.Logf("Start: %v", err)
}

// waitFrame waits (bounded) until some goroutine's stack holds frame: the
// only way to know a call has reached a blocking point inside the engine.
// It polls with Gosched, never sleeps.
func waitFrame(t *testing.T, frame string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if bytes.Contains(buf[:n], []byte(frame)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine reached %s", frame)
		}
		runtime.Gosched()
	}
}

// gateCtx is a ctx whose Deadline blocks once armed, until released: it
// holds a call at the first point it reads its ctx's deadline (the
// scheduler may hold it there as well).
type gateCtx struct {
	context.Context
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newGateCtx(parent context.Context) *gateCtx {
	return &gateCtx{Context: parent, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gateCtx) Deadline() (time.Time, bool) {
	if g.armed.CompareAndSwap(true, false) {
		close(g.entered)
		<-g.release
	}
	return g.Context.Deadline()
}

// R3-4: Remove (and Terminate) of a child while the supervisor's goroutine
// does not run is performed on the caller's goroutine (requests.go:direct),
// which checked s.loop == nil once, before it stops the child. If the
// supervisor starts meanwhile, its goroutine starts that child and the
// caller's Stop of the child lands in the middle: the child's start is
// aborted, so the supervisor's whole Start fails, because of a Remove
// that, made a moment later, would have been queued behind the start.
// Nothing serialises the direct path against the goroutine: -race also
// reports drop → unwait reading s.waiting, which the goroutine owns
// (stopAll → unwaitAll writes it).
func TestReview3RemoveRacingStartFailsTheStart(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
	a, b := newD("a"), newD("b")
	aIn, aGo := make(chan struct{}), make(chan struct{})
	a.onStart = func(ctx context.Context, n int32) error {
		if n == 1 {
			close(aIn)
			select {
			case <-aGo:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	must(t, s.Add(ctx, b))
	must(t, s.Add(ctx, a))

	gctx := newGateCtx(ctx)
	gctx.armed.Store(true)
	removeErr := make(chan error, 1)
	go func() { removeErr <- s.Remove(gctx, a) }()
	recv(t, gctx.entered, "Remove reading its ctx's deadline")

	// The supervisor starts while the Remove is under way: its goroutine
	// waits for that Remove before it takes over the children, so a is
	// removed before it could start, and the start succeeds with b.
	startErr := make(chan error, 1)
	go func() { startErr <- service.Start(ctx, s) }()
	close(gctx.release)
	rerr := recv(t, removeErr, "Remove")
	close(aGo)
	err := recv(t, startErr, "the supervisor's start")
	if err != nil {
		t.Errorf("the supervisor's Start failed because of a concurrent Remove: %v", err)
	}
	if rerr != nil || a.Node().Parent() != nil || b.State() != service.Running {
		t.Errorf("Remove: %v; a attached %v; b %v; children %+v", rerr, a.Node().Parent() != nil, b.State(), s.Children())
	}
	select {
	case <-aIn:
		t.Error("the removed child was started")
	default:
	}
	_ = s.Stop(ctx)
}
