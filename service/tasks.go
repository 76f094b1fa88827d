package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"
)

// task is one goroutine owned by a run.
type task struct {
	r          *run // set by addTask
	name       string
	fn         func(ctx context.Context) error
	kind       taskKind
	wake       error           // a crash to report up once the task is unregistered
	exit       bool            // a Func's normal exit to report to its supervisor, likewise
	prev, next *task           // the run's list of live tasks
	failure    taskError       // the crash reason made from its error (no allocation of its own)
	labels     context.Context // its pprof labels (launch)
}

// taskKind says what a task's result means.
type taskKind uint8

const (
	plainTask   taskKind = iota // Go, timers: an error crashes the service
	monitorTask                 // its error is the crash reason itself
	funcTask                    // a Func's function: its return ends the run
)

// Go starts fn on a new goroutine owned by the current run (Python mode's
// add_future). fn gets the run context, cancelled when the service stops or
// crashes. The task is joined by Stop before the exit stack and OnShutdown
// run.
//
// Until Stop has cancelled the run, an error returned by fn (context.Canceled
// included) or a panic (with its stack) crashes the service. Once Stop has
// cancelled the run, errors wrapping the context's error are silent and
// others are joined into Stop's error. A nil return simply ends the task.
//
// Go returns ErrBadArgument for a nil fn, ErrNotStarted in state Init or
// Shutdown and ErrStopping once the service is stopping or has crashed; in
// each case nothing is started. Go is safe for concurrent use.
func (b *Base) Go(name string, fn func(ctx context.Context) error) error {
	if fn == nil {
		return errorf(ErrBadArgument, "%s: Go(%q): nil function", b.Label(), name)
	}
	r, err := b.runForTasks()
	if err != nil {
		return fmt.Errorf("%s: Go(%q): %w", b.Label(), name, err)
	}
	t := &task{name: name, fn: fn}
	if err := r.addTask(t); err != nil {
		return fmt.Errorf("%s: Go(%q): %w", b.Label(), name, err)
	}
	launch(t)
	return nil
}

// runForTasks returns the run on which tasks, timers and closers may be
// registered now.
func (b *Base) runForTasks() (*run, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.State() {
	case Starting, Running:
		return b.cur, nil
	case Stopping, Crashed:
		return nil, ErrStopping
	default:
		return nil, ErrNotStarted
	}
}

// addTask registers t on the run, unless the run is closed. Registration
// and the join share r.mu, so no task slips past the join.
func (r *run) addTask(t *task) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrStopping
	}
	t.r, t.next = r, r.tasks
	if r.tasks != nil {
		r.tasks.prev = t
	}
	r.tasks = t
	r.live++
	return nil
}

// launch starts the goroutine of task t, registered on its run. Its pprof
// label context is found here, on the caller's stack: at a service's
// first start, building it runs deep and allocates, and the new
// goroutine's small stack would have to grow for it.
func launch(t *task) {
	t.labels = t.r.b.profileLabels().task(t.name)
	go runTasks(t)
}

// runTasks is the body of a task's goroutine: it runs task t and handles
// its result.
func runTasks(t *task) {
	pprof.SetGoroutineLabels(t.labels)
	t.r.runTask(t)
}

// runTask runs task t, registered on r, and handles its result.
func (r *run) runTask(t *task) {
	var err error
	func() {
		if l := r.b.link.Load(); l != nil && l.PassThroughPanics {
			err = t.fn(r.ctx)
			return
		}
		defer func() {
			if v := recover(); v != nil {
				err = newPanicError(v)
			}
		}()
		err = t.fn(r.ctx)
	}()
	switch {
	case err == nil && r.abandoned.Load():
		r.b.Log().Warn().Str("task", t.name).Msg("task of an abandoned run returned late")
	case t.kind == funcTask:
		r.funcExit(t, err)
	case err == nil:
	case t.kind == monitorTask:
		r.taskFailed(t, err)
	default:
		t.failure = taskError{name: t.name, err: err, isTask: true}
		r.taskFailed(t, &t.failure)
	}
	r.doneTask(t)
	if t.wake != nil {
		// The crash was recorded while the task was registered; the
		// supervisor is woken once it is not, so stopping the crashed
		// service does not wait for this goroutine.
		r.b.escalate(r, t.wake)
	}
	if t.exit {
		r.b.reportExit()
	}
}

// taskFailed crashes the run with err, or, once Stop has cancelled the run,
// keeps err for Stop's error (silent when it wraps the context's error), or
// logs it when the run was abandoned.
func (r *run) taskFailed(t *task, err error) {
	switch {
	case r.abandoned.Load():
		r.b.Log().Warn().Err(err).Str("task", t.name).Msg("task of an abandoned run returned late")
	case r.stopped.Load():
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrStopped) {
			return // the stop's own cause, passed back up
		}
		r.mu.Lock()
		r.addLateErr(err)
		r.mu.Unlock()
	default:
		if r.b.recordCrash(r, err) {
			t.wake = err // runTask escalates it once the task is unregistered
		}
	}
}

// doneTask unregisters t, closing idle when the run is closed and empty.
func (r *run) doneTask(t *task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		r.tasks = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	r.live--
	if r.closed && r.live == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

// closeTasks stops registration and reports whether a task is left.
func (r *run) closeTasks() (live bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return r.live > 0
}

// idleCh returns a channel closed once no task is left (nil if none is
// left already). Registration is closed.
func (r *run) idleCh() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == 0 {
		return nil
	}
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	return r.idle
}

// join waits for the run's tasks, at most budget() on b's clock or until
// ctx ends; it asks budget only when a task is left. On time-out the run
// is abandoned and the error names every task left, with the service's
// path.
func (r *run) join(ctx context.Context, budget func() time.Duration) error {
	var idle <-chan struct{}
	if r.closeTasks() {
		// Tasks that honour their ctx return as soon as they run: let
		// them run before making a channel to wait on and arming a timer
		// for the budget.
		runtime.Gosched()
		idle = r.idleCh()
	}
	if idle == nil || waitClosed(ctx, r.b.clock(), idle, budget(), r.b, r, waitTasks) {
		return nil
	}
	r.mu.Lock()
	if r.live == 0 {
		r.mu.Unlock()
		return nil
	}
	r.abandoned.Store(true)
	names := make([]string, 0, r.live)
	for t := r.tasks; t != nil; t = t.next {
		names = append(names, t.name)
	}
	r.mu.Unlock()
	path := pathOf(r.b) // takes the services' locks: never under r.mu
	sort.Strings(names)
	for i, n := range names {
		names[i] = fmt.Sprintf("%s: task %q", path, n)
	}
	list := strings.Join(names, ", ")
	r.b.addStuck(list, idle, false)
	return fmt.Errorf("%w: still running: %s", ErrStopTimeout, list)
}

// pathOf renders b's path from the root: "root/child/b".
func pathOf(b *Base) string {
	path := b.Node().Path()
	parts := make([]string, len(path))
	for i, n := range path {
		if s, ok := n.Value().(Service); ok {
			parts[len(path)-1-i] = s.ShortLabel()
		} else {
			parts[len(path)-1-i] = "?"
		}
	}
	return strings.Join(parts, "/")
}

// Defer pushes fn on the current run's exit stack; the stack runs last in
// first out when the service stops (after its tasks have returned, before
// OnShutdown) and when a start is rolled back. Errors and panics from fn are
// joined into Stop's error. Returns ErrBadArgument for a nil fn,
// ErrNotStarted before start, ErrStopping once stopping; fn is then not
// registered (and not called).
func (b *Base) Defer(fn func() error) error {
	if fn == nil {
		return errorf(ErrBadArgument, "%s: Defer: nil function", b.Label())
	}
	r, err := b.runForTasks()
	if err == nil {
		err = r.pushExit(fn)
	}
	if err != nil {
		return fmt.Errorf("%s: Defer: %w", b.Label(), err)
	}
	return nil
}

// AddCloser is Defer(c.Close).
func (b *Base) AddCloser(c io.Closer) error {
	if isNil(c) {
		return errorf(ErrBadArgument, "%s: AddCloser: nil closer", b.Label())
	}
	return b.Defer(c.Close)
}
