// Package seam holds the types package service and package supervisor use
// to talk to each other. Users never import it.
//
// Package service owns the lifecycle engine (runs, tasks, transitions);
// package supervisor owns children and decides their fate. They meet here,
// through Go types the compiler checks and nothing else: no table of
// functions filled at init, no values of type any, no lock held across the
// boundary. A restart is one call chain: the supervisor's goroutine calls
// [Handle.Restart] on the child and gets its result back.
//
// Exported functions and methods of package service and package supervisor
// that take a [Token] are for the other package only: a Token cannot be
// made outside this module.
//
// Besides types, it keeps one piece of state: which goroutines run a
// supervisor's callback right now ([Named.Enter]), so that a call made
// from one can be told apart from any other caller.
package seam

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/graph"
)

// Token is the proof that a caller is a package of this module. Its zero
// value is the token; code outside the module cannot name the type.
type Token struct{ _ [0]func() }

// ErrDirect is what a [Supervisor] answers to a routed call it cannot take
// because its goroutine is not running (the supervisor has not started its
// children yet, or has stopped them): the engine then acts on the child
// directly.
var ErrDirect = errors.New("mode: supervisor not handling requests")

// Supervisor is what a directly supervised child reports to, and what its
// own Stop and Restart are routed through, so that a supervisor's children
// change state only on the supervisor's goroutine. Package supervisor
// implements it on its record of one child.
type Supervisor interface {
	// Exited tells the supervisor that the child's current run has ended
	// (a crash or a normal exit). It never blocks.
	Exited()
	// StopChild is the child's own Stop called from outside the
	// supervisor: the supervisor stops the child and handles the stop as
	// the child's normal exit (while the supervisor stops or has crashed,
	// it only stops the child: no exit). It returns ErrDirect when it
	// cannot take the request.
	StopChild(ctx context.Context) error
	// RestartChild is the child's own Restart called from outside the
	// supervisor: a manual restart, not counted toward the intensity.
	RestartChild(ctx context.Context) error
}

// Link ties a child to the supervisor directly above it. It is immutable
// once stored; a new Link replaces the old one.
type Link struct {
	Sup Supervisor
	// PassThroughPanics lets panics in the child's tasks and hooks
	// propagate instead of becoming crashes.
	PassThroughPanics bool
}

// Exit is how a run of a child ended, as its supervisor reads it.
type Exit struct {
	// Run numbers the child's runs (1 for the first); a supervisor uses
	// it to tell an exit it has handled from a new one.
	Run uint64
	// Ended: the run has crashed or exited on its own. False while it
	// runs, before its first start, and when it was stopped by its
	// supervisor or an ancestor.
	Ended bool
	// Reason is the crash reason; nil for a normal exit.
	Reason error
	// Final marks a normal exit after which the child must not be started
	// again (suture's ErrDoNotRestart).
	Final bool
}

// Handle is the engine's view of one service for package supervisor:
// the operations a supervisor performs on its children and on itself.
type Handle interface {
	// Attach adds child under this service (handover included) with link.
	// It returns AddDependency's errors; state is not checked.
	Attach(child Handle, link *Link) error
	// FromStartHook returns service.ErrAddedInOnStart, naming child, when
	// the calling goroutine runs OnStart or OnStarted of this service or of
	// one of its ancestors (and crashes that hook's service), else nil.
	// An Add checks it on the caller's goroutine: Attach may run on the
	// supervisor's.
	FromStartHook(child Handle) error
	// Detach removes child (stopped) from this service's children.
	Detach(child Handle) error
	// Replace puts fresh in old's place among this service's children and
	// in the node graph, with old's link.
	Replace(old, fresh Handle) error

	// Start starts the service as its supervisor, from Init or Shutdown.
	// ctx bounds the start and reaches its start hooks; if the start fails,
	// its rollback takes at most budget (< 0: the service's stop timeout).
	// It fails with ErrStopTimeout, starting nothing, while user code
	// abandoned by an earlier run still runs. values, if not nil, is a ctx
	// without cancellation carrying ctx's values (marks aside): the run's
	// ctx takes its values from it, so that a supervisor makes it once for
	// all the starts and restarts of its run instead of once per start.
	Start(ctx, values context.Context, budget time.Duration) error
	// Stop stops the service as its supervisor: never reported back as an
	// exit. The stop takes at most budget (and ctx's deadline).
	Stop(ctx context.Context, budget time.Duration) error
	// Halt begins a Stop of the service by its supervisor, if it runs
	// (Running or Crashed) and no transition is in progress: its state
	// becomes Stopping and its run is cancelled, at once. The rest of the
	// stop (hooks, children, joins, Shutdown) waits for the supervisor's
	// Stop of the service, which must follow on the same goroutine: until
	// it does, any other Stop or Restart of the service waits.
	Halt()
	// Restart stops the service if it runs (within budget, under stopCtx),
	// waits up to budget for tasks of earlier runs still alive, resets it
	// (RestartCount+1 through the subtree), calls OnRestart and starts it
	// (under ctx, which reaches its start hooks). stopErr holds what the
	// stop half reported (hooks, closers, late task errors): it never
	// fails the restart. err is the start half's error, or ErrStopTimeout
	// naming the tasks of an earlier run still alive (then nothing was
	// started). values is as for Start.
	Restart(stopCtx, ctx, values context.Context, budget time.Duration) (stopErr, err error)
	// Abandoned records user code that a Stop or Start of the service
	// gave up on and that goes on running until done is closed (what names
	// it, after the service's path): until then a Stop of the stopped
	// service returns ErrStopTimeout naming it, and a Start is refused
	// (see service.Base.Stop).
	Abandoned(what string, done <-chan struct{})
	// Exit reads how the current run ended.
	Exit() Exit
	// Inside reports whether ctx is the ctx of a task or hook of this
	// service or of one of its descendants.
	Inside(ctx context.Context) bool
	// ShortLabel is the service's ShortLabel made afresh: it caches
	// nothing, so it allocates nothing (a child's automatic ID is made
	// from it).
	ShortLabel() string
}

// Machinery is run by the engine besides the user's hooks, for a service
// that manages its own children (a supervisor): the engine then leaves the
// children's start and stop to it.
type Machinery interface {
	// Start runs after OnStart: it starts the children. ctx is the start
	// ctx: Start returns when it ends, whatever the children do.
	Start(ctx context.Context) error
	// Stop runs after OnStop: it stops the children, in reverse order,
	// and returns within budget (naming what did not stop in time).
	Stop(ctx context.Context, budget time.Duration) error
}

// MarkKey is the ctx key of a Mark: a ctx given to user code by a
// supervisor's goroutine. A ctx that must not carry marks (a run's ctx,
// whose tasks run on their own goroutines) answers nil for it.
type MarkKey struct{}

// Owner identifies one supervisor's goroutine in a Mark: each supervisor
// holds one and marks with its address.
type Owner struct{ _ byte }

// Mark names the supervisors whose goroutines wait, right now, for the
// code that got a ctx carrying it: a call from that code to one of them
// must not wait for that goroutine.
type Mark struct {
	Sup  *Owner
	Next *Mark
}

// WithMark returns ctx marked as given to user code by sup's goroutine,
// keeping the marks already on ctx when keep is true (the caller waits
// for sup, as a supervisor starting a nested one does).
func WithMark(ctx context.Context, sup *Owner, keep bool) context.Context {
	var next *Mark
	if keep {
		next, _ = ctx.Value(MarkKey{}).(*Mark)
	}
	return context.WithValue(ctx, MarkKey{}, &Mark{Sup: sup, Next: next})
}

// Marked reports whether ctx carries sup's mark.
func Marked(ctx context.Context, sup *Owner) bool {
	if ctx == nil {
		return false
	}
	m, _ := ctx.Value(MarkKey{}).(*Mark)
	for ; m != nil; m = m.Next {
		if m.Sup == sup {
			return true
		}
	}
	return false
}

// CopyMarks returns dst carrying src's marks (dst itself when src has
// none).
func CopyMarks(dst, src context.Context) context.Context {
	m, _ := src.Value(MarkKey{}).(*Mark)
	if m == nil {
		return dst
	}
	return context.WithValue(dst, MarkKey{}, m)
}

// Callbacks a supervisor runs on its own goroutine (OnEvent, a
// Replacement) get no ctx to carry a Mark, so the goroutine is named
// instead: a supervisor's goroutine is recorded here under its ID, with
// the supervisor's node, for as long as it runs ([NameGoroutine]), and
// counts the callbacks it runs now ([Named.Enter]). A call that would stop
// or restart that supervisor, or a service above it, must not wait for it:
// that stop waits for the goroutine the call is made on.
var callbacks struct {
	n  atomic.Int32 // callbacks running now, anywhere: nothing to look up when zero
	mu sync.Mutex
	at map[uint64]*Named
}

// Named is a supervisor's goroutine, named by NameGoroutine.
type Named struct {
	g      uint64
	node   *graph.Node
	active atomic.Int32 // callbacks it runs now (nested ones included)
}

// NameGoroutine records goroutine g (see Goid) as the goroutine of the
// supervisor whose node is n; call Done on what it returns before the
// goroutine returns. (The supervisor reads its goroutine's ID once per
// run: Goid walks the stack, far too slow for every event.)
func NameGoroutine(g uint64, n *graph.Node) *Named {
	nm := &Named{g: g, node: n}
	callbacks.mu.Lock()
	defer callbacks.mu.Unlock()
	if callbacks.at == nil {
		callbacks.at = make(map[uint64]*Named)
	}
	callbacks.at[g] = nm
	return nm
}

// Done removes the name.
func (nm *Named) Done() {
	callbacks.mu.Lock()
	defer callbacks.mu.Unlock()
	if callbacks.at[nm.g] == nm {
		delete(callbacks.at, nm.g)
	}
}

// Enter records that the named goroutine runs a callback now; call Exit
// on what it returns when the callback returns. Two atomic additions, no
// lock: a supervisor enters one per event.
func (nm *Named) Enter() CallbackEntry {
	nm.active.Add(1)
	callbacks.n.Add(1)
	return CallbackEntry{nm}
}

// CallbackEntry is what Enter recorded. A value, not a func: a supervisor
// enters one per event.
type CallbackEntry struct{ nm *Named }

// Exit ends the callback Enter recorded.
func (e CallbackEntry) Exit() {
	e.nm.active.Add(-1)
	callbacks.n.Add(-1)
}

// CallbackNode returns the node of the supervisor whose callback the
// calling goroutine runs, or nil.
func CallbackNode() *graph.Node {
	if callbacks.n.Load() == 0 {
		return nil
	}
	g := Goid()
	callbacks.mu.Lock()
	nm := callbacks.at[g]
	callbacks.mu.Unlock()
	if nm == nil || nm.active.Load() == 0 {
		return nil
	}
	return nm.node
}

// Under reports whether node at is n or one of n's descendants.
func Under(at, n *graph.Node) bool {
	for ; at != nil; at = at.Parent() {
		if at == n {
			return true
		}
	}
	return false
}

// Goid returns the calling goroutine's ID, read from the header of its
// stack trace ("goroutine 42 [running]:"). It walks the goroutine's stack
// (microseconds): it is asked once per run of a supervisor's goroutine, and
// of a caller only while a callback runs somewhere.
func Goid() uint64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	b, ok := bytes.CutPrefix(buf[:n], []byte("goroutine "))
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
