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

// The task word (run.tasks): the live tasks, counted in the low bits.
const (
	tasksClosed int32 = 1 << 30 // no more tasks or closers
	tasksFn     int32 = 1 << 29 // the Func's task is live
	tasksCount  int32 = tasksFn - 1
)

// addTask registers t on the run, unless the run is closed. The join closes
// the run (closeTasks) and counts the live tasks in the same word, so no
// task slips past it. A Func's task (r.fnTask) is only counted, with one
// locked instruction; any other is also listed, under r.mu, for the names
// of what a Stop abandons.
func (r *run) addTask(t *task) error {
	t.r = r
	if t == r.fnTask {
		return r.count(1 | tasksFn)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.count(1); err != nil {
		return err
	}
	t.next = r.list
	if r.list != nil {
		r.list.prev = t
	}
	r.list = t
	return nil
}

// count adds n to the task word unless the run is closed.
func (r *run) count(n int32) error {
	for {
		old := r.tasks.Load()
		if old&tasksClosed != 0 {
			return ErrStopping
		}
		if r.tasks.CompareAndSwap(old, old+n) {
			return nil
		}
	}
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
	case err == nil && r.has(runAbandoned):
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
	case r.has(runAbandoned):
		r.b.Log().Warn().Err(err).Str("task", t.name).Msg("task of an abandoned run returned late")
	case r.has(runStopped):
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
	if t == r.fnTask {
		if r.tasks.Add(-(1 | tasksFn)) == tasksClosed {
			r.closeIdle()
		}
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		r.list = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	}
	if r.tasks.Add(-1) == tasksClosed && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

// closeIdle closes idle if a join made it: the last task is gone.
func (r *run) closeIdle() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

// closeTasks stops registration and reports whether a task is left.
func (r *run) closeTasks() (live bool) {
	return r.tasks.Or(tasksClosed)&tasksCount > 0
}

// idleCh returns a channel closed once no task is left (nil if none is
// left already). Registration is closed. The last task's doneTask sees the
// word go to tasksClosed after idleCh read it under r.mu, or before: then
// idleCh reads no task left.
func (r *run) idleCh() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tasks.Load()&tasksCount == 0 {
		return nil
	}
	if r.idle == nil {
		r.idle = make(chan struct{})
	}
	return r.idle
}

// liveNamesLocked returns the names of the live tasks, unsorted. r.mu is
// held.
func (r *run) liveNamesLocked() []string {
	w := r.tasks.Load()
	names := make([]string, 0, w&tasksCount)
	if w&tasksFn != 0 {
		names = append(names, r.fnTask.name)
	}
	for t := r.list; t != nil; t = t.next {
		names = append(names, t.name)
	}
	return names
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
	if r.tasks.Load()&tasksCount == 0 {
		r.mu.Unlock()
		return nil
	}
	r.set(runAbandoned)
	names := r.liveNamesLocked()
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
