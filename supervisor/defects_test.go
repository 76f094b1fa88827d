package supervisor_test

// Regression tests for the defects of "engine at the edges" (issue 10),
// one test per defect, named TestDefectNN. Defects 4, 6 (graph error
// texts), 7 and 15 are tested in package service (service/defects_test.go).

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// dsvc is a child whose hooks are function fields (nil: no-op). Each hook
// gets the number of the start it belongs to (1 for the first run).
type dsvc struct {
	service.Base
	starts, stops, shutdowns atomic.Int32

	onStart, onStarted, onStop, onShutdown, onRestart func(ctx context.Context, n int32) error
}

func newD(name string) *dsvc {
	d := &dsvc{}
	d.Configure(service.Config{Name: name, Logger: &quiet})
	return d
}

func (d *dsvc) OnStart(ctx context.Context) error {
	n := d.starts.Add(1)
	if d.onStart != nil {
		return d.onStart(ctx, n)
	}
	return nil
}

func (d *dsvc) OnStarted(ctx context.Context) error {
	if d.onStarted != nil {
		return d.onStarted(ctx, d.starts.Load())
	}
	return nil
}

func (d *dsvc) OnStop(ctx context.Context) error {
	d.stops.Add(1)
	if d.onStop != nil {
		return d.onStop(ctx, d.starts.Load())
	}
	return nil
}

func (d *dsvc) OnShutdown(ctx context.Context) error {
	d.shutdowns.Add(1)
	if d.onShutdown != nil {
		return d.onShutdown(ctx, d.starts.Load())
	}
	return nil
}

// OnRestart gets the number of the start that follows it.
func (d *dsvc) OnRestart(ctx context.Context) error {
	if d.onRestart != nil {
		return d.onRestart(ctx, d.starts.Load()+1)
	}
	return nil
}

var (
	_ service.OnStarter     = (*dsvc)(nil)
	_ service.OnStartedHook = (*dsvc)(nil)
	_ service.OnStopper     = (*dsvc)(nil)
	_ service.OnShutdowner  = (*dsvc)(nil)
	_ service.OnRestarter   = (*dsvc)(nil)
)

var barrierSeq atomic.Int64

// settle returns once the supervisor's goroutine has handled everything
// queued before the call: a throwaway Temporary child is added and removed
// through the same queue as exits, requests and ended backoffs, and settle
// waits for its start and its ChildRemoved event (not only for Add and
// Remove to return).
func settle(t *testing.T, ctx context.Context, s *supervisor.Supervisor, ev *events) {
	t.Helper()
	id := fmt.Sprintf("barrier-%d", barrierSeq.Add(1))
	b := newD(id)
	started := make(chan struct{})
	var once sync.Once
	b.onStart = func(context.Context, int32) error { once.Do(func() { close(started) }); return nil }
	must(t, s.Add(ctx, b, supervisor.ChildSpec{Restart: strategy.Temporary}))
	recv(t, started, "the start of "+id)
	must(t, s.Remove(ctx, b))
	ev.wait(t, supervisor.ChildRemoved, id, 1)
}

// returnsWithin runs fn and returns its error; a panic fails the test, and
// so does a call still running after d (a watchdog against deadlocks, not
// a pace).
func returnsWithin(t *testing.T, d time.Duration, fn func() error) error {
	t.Helper()
	type result struct {
		err   error
		panic any
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				ch <- result{panic: v}
			}
		}()
		ch <- result{err: fn()}
	}()
	watchdog := time.NewTimer(d)
	defer watchdog.Stop()
	select {
	case r := <-ch:
		if r.panic != nil {
			t.Fatalf("panicked: %v", r.panic)
		}
		return r.err
	case <-watchdog.C:
		t.Fatalf("still blocked after %v", d)
		return nil
	}
}

// recv waits for ch (a watchdog fails the test after 20s).
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func childInfo(t *testing.T, s *supervisor.Supervisor, id string) (supervisor.ChildInfo, bool) {
	t.Helper()
	for _, ci := range s.Children() {
		if ci.ID == id {
			return ci, true
		}
	}
	return supervisor.ChildInfo{}, false
}

// Defect 1: a panic in a Replacement factory or in OnEvent must not leave
// the supervisor locked: a later Add works and, nested, the next crash of
// its child is still handled. A Replacement panic fails that restart
// attempt (StartFailed); an OnEvent panic crashes the supervisor with a
// *service.PanicError reason, which its parent restarts.
func TestDefect01PanicInCallbackLeavesSupervisorUsable(t *testing.T) {
	for _, nested := range []bool{false, true} {
		name := map[bool]string{false: "top", true: "nested"}[nested]

		t.Run("Replacement/"+name, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			inner := newSup(supervisor.Spec{Service: service.Config{Name: "inner"}, MaxRestarts: 10}, ev)
			var calls atomic.Int32
			factory := func() service.Service {
				if calls.Add(1) == 1 {
					panic("factory kaboom")
				}
				return newWorker("")
			}
			must(t, inner.Add(ctx, newWorker(""), supervisor.ChildSpec{ID: "w", Replacement: factory}))
			var root service.Service = inner
			pev := newEvents()
			if nested {
				outer := newSup(supervisor.Spec{Service: service.Config{Name: "outer"}}, pev)
				must(t, outer.Add(ctx, inner))
				root = outer
			}
			must(t, service.Start(ctx, root))

			inner.Child("w").Crash(errBoom)
			got := ev.wait(t, supervisor.StartFailed, "w", 1)
			var pe *service.PanicError
			if !errors.As(got[0].Reason, &pe) {
				t.Fatalf("StartFailed reason %v, want a *service.PanicError", got[0].Reason)
			}
			ev.wait(t, supervisor.ChildRestarted, "w", 1)

			late := newWorker("late")
			must(t, returnsWithin(t, 10*time.Second, func() error { return inner.Add(ctx, late) }))
			settle(t, ctx, inner, ev)
			if late.State() != service.Running {
				t.Fatalf("late child %v", late.State())
			}
			cur := inner.Child("w")
			cur.Crash(errBoom)
			ev.wait(t, supervisor.ChildRestarted, "w", 2)
			if c := inner.Child("w"); c == cur || c.State() != service.Running {
				t.Fatalf("second crash not handled: same instance %v, state %v", c == cur, c.State())
			}
			if n := pev.count(supervisor.ChildCrashed, ""); n != 0 {
				t.Fatalf("a Replacement panic crashed the supervisor: %s", pev)
			}
			must(t, root.Stop(ctx))
		})

		t.Run("OnEvent/"+name, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			var calls atomic.Int32
			inner := supervisor.New(supervisor.Spec{
				Service:     service.Config{Name: "inner", Logger: &quiet},
				MaxRestarts: 10,
				OnEvent: func(e supervisor.Event) {
					if calls.Add(1) == 1 {
						panic("OnEvent kaboom")
					}
					ev.hook(e)
				},
			})
			w := newWorker("w")
			must(t, inner.Add(ctx, w))
			pev := newEvents()
			var outer *supervisor.Supervisor
			var root service.Service = inner
			if nested {
				outer = newSup(supervisor.Spec{Service: service.Config{Name: "outer"}}, pev)
				must(t, outer.Add(ctx, inner))
				root = outer
			}
			must(t, service.Start(ctx, root))

			w.Crash(errBoom) // its ChildCrashed event panics
			var pe *service.PanicError
			if nested {
				got := pev.wait(t, supervisor.ChildCrashed, "inner", 1)
				if !errors.As(got[0].Reason, &pe) {
					t.Fatalf("inner's crash reason %v, want a *service.PanicError", got[0].Reason)
				}
				pev.wait(t, supervisor.ChildRestarted, "inner", 1)
			} else {
				if err := inner.WaitUntilStopped(ctx); !errors.As(err, &pe) {
					t.Fatalf("inner's crash reason %v, want a *service.PanicError", err)
				}
				must(t, inner.Stop(ctx))
			}

			late := newWorker("late")
			must(t, returnsWithin(t, 10*time.Second, func() error { return inner.Add(ctx, late) }))
			if !nested {
				must(t, returnsWithin(t, 10*time.Second, func() error { return inner.Restart(ctx) }))
			}
			settle(t, ctx, inner, ev)
			if inner.State() != service.Running || late.State() != service.Running || w.State() != service.Running {
				t.Fatalf("after the panic: inner %v, late %v, w %v", inner.State(), late.State(), w.State())
			}
			before := ev.count(supervisor.ChildRestarted, "w")
			w.Crash(errBoom)
			ev.wait(t, supervisor.ChildRestarted, "w", before+1)
			if w.State() != service.Running {
				t.Fatalf("w %v after its next crash", w.State())
			}
			must(t, root.Stop(ctx))
		})
	}
}

// Defect 2: the supervisor's Stop during an in-flight restart of a child
// (its start hook blocks until released or its ctx ends) returns within
// its budget and joins the tasks the child started, which honour their
// ctx: nothing is abandoned.
func TestDefect02StopDuringChildRestart(t *testing.T) {
	for _, hook := range []string{"OnStart", "OnStarted"} {
		t.Run(hook+" blocks", func(t *testing.T) {
			ctx := bg(t)
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
			release := make(chan struct{})
			defer close(release)
			entered := make(chan struct{})
			taskDone := make(chan struct{})
			block := func(ctx context.Context) error {
				close(entered)
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			c := newD("c")
			c.onStart = func(ctx context.Context, n int32) error {
				if n != 2 {
					return nil
				}
				if err := c.Go("honest", func(ctx context.Context) error {
					defer close(taskDone)
					<-ctx.Done()
					return nil
				}); err != nil {
					return err
				}
				if hook == "OnStart" {
					return block(ctx)
				}
				return nil
			}
			c.onStarted = func(ctx context.Context, n int32) error {
				if n == 2 && hook == "OnStarted" {
					return block(ctx)
				}
				return nil
			}
			must(t, s.Add(ctx, c))
			must(t, service.Start(ctx, s))
			c.Crash(errBoom)
			recv(t, entered, "the restart's "+hook)

			const budget = 2 * time.Second
			stopCtx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			t0 := time.Now()
			err := s.Stop(stopCtx)
			if el := time.Since(t0); el > budget+time.Second {
				t.Fatalf("Stop took %v, budget %v", el, budget)
			}
			if errors.Is(err, service.ErrStopTimeout) {
				t.Fatalf("Stop abandoned something: %v", err)
			}
			select {
			case <-taskDone:
			default:
				t.Fatal("the task started by the interrupted restart was not joined")
			}
			if st := c.State(); st == service.Running || st == service.Starting {
				t.Fatalf("child %v after the supervisor stopped", st)
			}
		})
	}
}

// Defect 3: a child's hook that calls Terminate, RestartChild, Add or
// Remove on its supervisor while the supervisor restarts that child does
// not deadlock: the call is queued, returns nil, and is performed right
// after the restart. OnEvent calling Add does not hang the supervisor: the
// child gets added.
func TestDefect03ReentrantCallsAreQueued(t *testing.T) {
	// env is one test's supervisor and children: w's hook makes the call,
	// sib is terminated beforehand, added is not yet a child.
	type env struct {
		s          *supervisor.Supervisor
		w          *dsvc
		sib, added *worker
	}
	ops := []struct {
		name  string
		call  func(ctx context.Context, e env) error
		check func(t *testing.T, e env)
	}{
		{"Terminate self",
			func(ctx context.Context, e env) error { return e.s.Terminate(ctx, "w") },
			func(t *testing.T, e env) {
				if ci, ok := childInfo(t, e.s, "w"); !ok || !ci.Terminated || e.w.State() != service.Shutdown {
					t.Fatalf("w not terminated: %+v, state %v", ci, e.w.State())
				}
			}},
		{"RestartChild terminated sibling",
			func(ctx context.Context, e env) error { return e.s.RestartChild(ctx, "sib") },
			func(t *testing.T, e env) {
				if ci, ok := childInfo(t, e.s, "sib"); !ok || ci.Terminated || e.sib.State() != service.Running {
					t.Fatalf("sib not restarted: %+v, state %v", ci, e.sib.State())
				}
			}},
		{"Add",
			func(ctx context.Context, e env) error { return e.s.Add(ctx, e.added) },
			func(t *testing.T, e env) {
				if _, ok := childInfo(t, e.s, "added"); !ok || e.added.State() != service.Running {
					t.Fatalf("child not added: state %v, children %+v", e.added.State(), e.s.Children())
				}
			}},
		{"Remove self",
			func(ctx context.Context, e env) error { return e.s.Remove(ctx, e.w) },
			func(t *testing.T, e env) {
				if _, ok := childInfo(t, e.s, "w"); ok || e.w.State() != service.Shutdown || e.w.Node().Parent() != nil {
					t.Fatalf("w not removed: state %v, children %+v", e.w.State(), e.s.Children())
				}
			}},
	}
	for _, hook := range []string{"OnStop", "OnRestart", "OnStart"} {
		for _, o := range ops {
			t.Run(hook+"/"+o.name, func(t *testing.T) {
				ctx := bg(t)
				ev := newEvents()
				e := env{
					s: newSup(supervisor.Spec{Service: service.Config{Name: "sup"}, MaxRestarts: 10}, ev),
					w: newD("w"), sib: newWorker("sib"), added: newWorker("added"),
				}
				var armed atomic.Bool
				res := make(chan error, 1)
				fire := func(ctx context.Context) {
					if armed.CompareAndSwap(true, false) {
						res <- o.call(ctx, e)
					}
				}
				switch hook {
				case "OnStop":
					e.w.onStop = func(ctx context.Context, _ int32) error { fire(ctx); return nil }
				case "OnRestart":
					e.w.onRestart = func(ctx context.Context, _ int32) error { fire(ctx); return nil }
				case "OnStart":
					e.w.onStart = func(ctx context.Context, n int32) error {
						if n == 2 {
							fire(ctx)
						}
						return nil
					}
				}
				must(t, e.s.Add(ctx, e.w))
				must(t, e.s.Add(ctx, e.sib))
				must(t, service.Start(ctx, e.s))
				must(t, e.s.Terminate(ctx, "sib"))

				armed.Store(true)
				e.w.Crash(errBoom)
				select {
				case err := <-res:
					if err != nil {
						t.Fatalf("%s from %s during the restart: %v", o.name, hook, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s from %s during the restart is blocked (deadlock)", o.name, hook)
				}
				ev.wait(t, supervisor.ChildRestarted, "w", 1)
				settle(t, ctx, e.s, ev)
				o.check(t, e)
				if n := ev.count(supervisor.RequestFailed, ""); n != 0 {
					t.Fatalf("queued request failed: %s", ev)
				}
				must(t, e.s.Stop(ctx))
			})
		}
	}

	t.Run("OnEvent/Add", func(t *testing.T) {
		ctx := bg(t)
		ev := newEvents()
		added := newWorker("from-event")
		res := make(chan error, 1)
		var s *supervisor.Supervisor
		var once atomic.Bool
		s = supervisor.New(supervisor.Spec{
			Service: service.Config{Name: "sup", Logger: &quiet},
			OnEvent: func(e supervisor.Event) {
				ev.hook(e)
				if e.Kind == supervisor.ChildCrashed && once.CompareAndSwap(false, true) {
					res <- s.Add(context.Background(), added)
				}
			},
		})
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		w.Crash(errBoom)
		select {
		case err := <-res:
			must(t, err)
		case <-time.After(10 * time.Second):
			t.Fatal("Add from OnEvent is blocked (deadlock)")
		}
		ev.wait(t, supervisor.ChildRestarted, "w", 1)
		settle(t, ctx, s, ev)
		if _, ok := childInfo(t, s, "from-event"); !ok || added.State() != service.Running {
			t.Fatalf("child not added: %v, %+v", added.State(), s.Children())
		}
		must(t, s.Stop(ctx))
	})
}

// Found while testing defect 3: a call made from ANOTHER goroutine while
// the supervisor's goroutine runs OnEvent (or a Replacement) is not a
// re-entrant call. It must wait for its answer under its ctx like any
// call; it must not be queued and return nil at once (here, before the
// added child's start has failed).
func TestDefect03OtherGoroutineDuringOnEventWaits(t *testing.T) {
	ctx := bg(t)
	inEvent, release := make(chan struct{}), make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	defer unblock()
	var once atomic.Bool
	ev := newEvents()
	s := supervisor.New(supervisor.Spec{
		Service: service.Config{Name: "sup", Logger: &quiet},
		OnEvent: func(e supervisor.Event) {
			ev.hook(e)
			if e.Kind == supervisor.ChildCrashed && once.CompareAndSwap(false, true) {
				close(inEvent)
				<-release
			}
		},
	})
	w := newWorker("w")
	must(t, s.Add(ctx, w))
	must(t, service.Start(ctx, s))
	w.Crash(errBoom)
	recv(t, inEvent, "OnEvent")

	bad := newWorker("bad")
	bad.failAt = map[int]error{1: errBoom}
	addCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := s.Add(addCtx, bad) // OnEvent holds the goroutine: Add waits until addCtx ends
	cancel()
	unblock()
	if err == nil {
		t.Fatal("Add from another goroutine during OnEvent returned nil before the supervisor handled it (the child's start fails)")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, errBoom) {
		t.Fatalf("Add: %v, want its ctx's end or the start's error", err)
	}
	ev.wait(t, supervisor.ChildRestarted, "w", 1)
	must(t, s.Stop(ctx))
}

// Defect 5: with backoff, rest-for-one never restarts dependents while
// their dependency is still down, nor twice (a crash of the dependency
// while the dependents wait merges the two restarts); one-for-all turns
// two simultaneous crashes into ONE group restart.
func TestDefect05GroupRestartsWithBackoff(t *testing.T) {
	backoff := strategy.Backoff{Min: time.Second, Max: 10 * time.Second, NoJitter: true}

	t.Run("rest-for-one", func(t *testing.T) {
		ctx := bg(t)
		clk := clock.NewFake(time.Unix(1000, 0))
		ev := newEvents()
		s := newSup(supervisor.Spec{
			Service: service.Config{Name: "sup", Clock: clk}, Strategy: strategy.RestForOne,
			MaxRestarts: 10, Backoff: backoff,
		}, ev)
		var logMu sync.Mutex
		var lines []string
		kids := map[string]*worker{}
		for _, id := range []string{"a", "b", "c"} {
			w := newWorker(id)
			w.log, w.logMu = &lines, &logMu
			kids[id] = w
			must(t, s.Add(ctx, w))
		}
		must(t, service.Start(ctx, s))

		kids["b"].Crash(errBoom) // b and c wait 1s: due at +1s
		ev.wait(t, supervisor.BackoffStarted, "c", 1)
		clk.Advance(500 * time.Millisecond)
		kids["a"].Crash(errBoom) // a, b and c: due at +1.5s, merged
		ev.wait(t, supervisor.BackoffStarted, "a", 1)
		ev.wait(t, supervisor.BackoffStarted, "c", 2)

		clk.Advance(500 * time.Millisecond) // +1s: b's own delay is over, a is still down
		clk.Settle()
		settle(t, ctx, s, ev)
		for _, id := range []string{"a", "b", "c"} {
			if st := kids[id].State(); st == service.Running || ev.count(supervisor.ChildRestarted, id) != 0 {
				t.Fatalf("%s restarted while a (its dependency) is down: %v; events %s", id, st, ev)
			}
		}

		logMu.Lock()
		mark := len(lines)
		logMu.Unlock()
		clk.Advance(500 * time.Millisecond) // +1.5s
		for _, id := range []string{"a", "b", "c"} {
			ev.wait(t, supervisor.ChildRestarted, id, 1)
		}
		clk.Settle()
		settle(t, ctx, s, ev)
		for _, id := range []string{"a", "b", "c"} {
			if n, starts := ev.count(supervisor.ChildRestarted, id), kids[id].Starts(); n != 1 || starts != 2 {
				t.Fatalf("%s restarted %d times (%d starts); events %s", id, n, starts, ev)
			}
			if kids[id].State() != service.Running {
				t.Fatalf("%s %v", id, kids[id].State())
			}
		}
		logMu.Lock()
		got := slices.Clone(lines[mark:])
		logMu.Unlock()
		if want := []string{"start a", "start b", "start c"}; !slices.Equal(got, want) {
			t.Fatalf("restart order %q, want %q", got, want)
		}
		must(t, s.Stop(ctx))
	})

	t.Run("one-for-all", func(t *testing.T) {
		ctx := bg(t)
		clk := clock.NewFake(time.Unix(1000, 0))
		ev := newEvents()
		s := newSup(supervisor.Spec{
			Service: service.Config{Name: "sup", Clock: clk}, Strategy: strategy.OneForAll,
			MaxRestarts: 10, Backoff: backoff,
		}, ev)
		a, b, c := newWorker("a"), newWorker("b"), newWorker("c")
		for _, w := range []*worker{a, b, c} {
			must(t, s.Add(ctx, w))
		}
		must(t, service.Start(ctx, s))

		// Hold the supervisor's goroutine in the start of an added child
		// so that both crashes are queued before it handles either.
		gate := newD("gate")
		entered, open := make(chan struct{}), make(chan struct{})
		gate.onStart = func(ctx context.Context, n int32) error {
			if n == 1 {
				close(entered)
				select {
				case <-open:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		}
		added := make(chan error, 1)
		go func() { added <- s.Add(ctx, gate) }()
		recv(t, entered, "the gate's start")
		a.Crash(errBoom)
		b.Crash(errBoom)
		close(open)
		must(t, recv(t, added, "Add"))

		ev.wait(t, supervisor.BackoffStarted, "gate", 1)
		clk.Advance(backoff.Max)
		ids := []string{"a", "b", "c", "gate"}
		for _, id := range ids {
			ev.wait(t, supervisor.ChildRestarted, id, 1)
		}
		clk.Settle()
		settle(t, ctx, s, ev)
		starts := map[string]int{"a": a.Starts(), "b": b.Starts(), "c": c.Starts(), "gate": int(gate.starts.Load())}
		for _, id := range ids {
			if n := ev.count(supervisor.ChildRestarted, id); n != 1 || starts[id] != 2 {
				t.Fatalf("%s restarted %d times (%d starts); events %s", id, n, starts[id], ev)
			}
		}
		must(t, s.Stop(ctx))
	})
}

// Defect 6: Supervisor.Child(id) read concurrently with a Replacement
// swapping the child is race-free (run under -race).
func TestDefect06ChildConcurrentWithReplacement(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{MaxRestarts: 1000}, ev)
	must(t, s.Add(ctx, newWorker(""), supervisor.ChildSpec{ID: "w", Replacement: func() service.Service { return newWorker("") }}))
	must(t, service.Start(ctx, s))

	stop, done := make(chan struct{}), make(chan struct{})
	var missing atomic.Bool
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			c := s.Child("w")
			if c == nil {
				missing.Store(true)
			} else {
				_, _, _ = c.ShortLabel(), c.State(), c.RestartCount()
			}
			_ = s.Children()
			runtime.Gosched()
		}
	}()
	const n = 20
	seen := map[service.Service]bool{}
	for i := 1; i <= n; i++ {
		cur := s.Child("w")
		seen[cur] = true
		cur.Crash(errBoom)
		ev.wait(t, supervisor.ChildRestarted, "w", i)
	}
	close(stop)
	<-done
	if missing.Load() {
		t.Fatal("Child(\"w\") returned nil during a replacement")
	}
	if cur := s.Child("w"); seen[cur] || cur.State() != service.Running {
		t.Fatalf("current child: fresh %v, state %v", !seen[cur], cur.State())
	}
	must(t, s.Stop(ctx))
}

// Defect 8: one stubborn child (OnStop ignores its ctx) among four: the
// three well-behaved siblings stop cleanly (Shutdown, their OnStop and
// OnShutdown ran, not named in the error), the stubborn one is named, and
// the whole Stop is bounded by the per-child shutdown timeout or by the
// Stop's budget (with DefaultChildShutdown).
func TestDefect08StubbornChildDoesNotSpoilSiblings(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      supervisor.Spec
		child     supervisor.ChildSpec // the stubborn child's spec
		stopIn    time.Duration        // the Stop ctx's deadline (0: none but the test's)
		stubbornN int                  // the stubborn child's position in start order
		bound     time.Duration
	}{
		{name: "Spec.ShutdownTimeout", spec: supervisor.Spec{ShutdownTimeout: 100 * time.Millisecond}, stubbornN: 1, bound: time.Second},
		{name: "ChildSpec.ShutdownTimeout", child: supervisor.ChildSpec{ShutdownTimeout: 100 * time.Millisecond}, stubbornN: 2, bound: time.Second},
		{name: "ChildSpec.ShutdownTimeout within a Stop deadline", child: supervisor.ChildSpec{ShutdownTimeout: 200 * time.Millisecond}, stopIn: 2 * time.Second, stubbornN: 1, bound: time.Second},
		// The stubborn child would get DefaultChildShutdown (5s): the
		// Stop's deadline bounds it. It is first in start order, so it is
		// stopped last, once its siblings have stopped.
		{name: "DefaultChildShutdown bounded by the Stop deadline", stopIn: time.Second, stubbornN: 0, bound: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			if tc.spec.Service.Name == "" {
				tc.spec.Service.Name = "sup"
			}
			s := newSup(tc.spec, nil)
			release, returned := make(chan struct{}), make(chan struct{})
			stubborn := newD("stubborn")
			stubborn.onStop = func(context.Context, int32) error {
				defer close(returned)
				<-release // ignores its ctx
				return nil
			}
			defer func() {
				close(release)
				recv(t, returned, "the stubborn OnStop to return")
			}()
			var well []*dsvc
			for i := range 4 {
				if i == tc.stubbornN {
					must(t, s.Add(ctx, stubborn, tc.child))
					continue
				}
				w := newD(fmt.Sprintf("well%d", len(well)+1))
				well = append(well, w)
				must(t, s.Add(ctx, w))
			}
			must(t, service.Start(ctx, s))

			stopCtx := ctx
			if tc.stopIn > 0 {
				var cancel context.CancelFunc
				stopCtx, cancel = context.WithTimeout(ctx, tc.stopIn)
				defer cancel()
			}
			t0 := time.Now()
			err := s.Stop(stopCtx)
			if el := time.Since(t0); el > tc.bound {
				t.Fatalf("Stop took %v, want < %v", el, tc.bound)
			}
			if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(fmt.Sprint(err), "stubborn") {
				t.Fatalf("Stop error %v, want ErrStopTimeout naming stubborn", err)
			}
			for _, w := range well {
				if strings.Contains(err.Error(), w.ShortLabel()) {
					t.Errorf("well-behaved %s named in %v", w.ShortLabel(), err)
				}
				if w.State() != service.Shutdown || w.stops.Load() != 1 || w.shutdowns.Load() != 1 {
					t.Errorf("%s: state %v, OnStop ran %d times, OnShutdown %d times",
						w.ShortLabel(), w.State(), w.stops.Load(), w.shutdowns.Load())
				}
			}
		})
	}
}

// Defect 9: backoff is per child: after worker a has flapped 5 times, its
// healthy sibling b's first restart waits Min.
func TestDefect09BackoffIsPerChild(t *testing.T) {
	ctx := bg(t)
	clk := clock.NewFake(time.Unix(1000, 0))
	ev := newEvents()
	backoff := strategy.Backoff{Min: time.Second, Max: time.Minute, NoJitter: true}
	s := newSup(supervisor.Spec{Service: service.Config{Clock: clk}, MaxRestarts: 100, Backoff: backoff}, ev)
	a, b := newWorker("a"), newWorker("b")
	must(t, s.Add(ctx, a))
	must(t, s.Add(ctx, b))
	must(t, service.Start(ctx, s))

	want := time.Second
	for i := 1; i <= 5; i++ {
		a.Crash(errBoom)
		got := ev.wait(t, supervisor.BackoffStarted, "a", i)
		if d := got[i-1].Delay; d != want {
			t.Fatalf("a's delay #%d: %v, want %v", i, d, want)
		}
		clk.Advance(want)
		ev.wait(t, supervisor.ChildRestarted, "a", i)
		want *= 2
	}
	b.Crash(errBoom)
	got := ev.wait(t, supervisor.BackoffStarted, "b", 1)
	if got[0].Delay != backoff.Min {
		t.Fatalf("b's first delay %v after a flapped, want Min %v", got[0].Delay, backoff.Min)
	}
	clk.Advance(backoff.Min)
	ev.wait(t, supervisor.ChildRestarted, "b", 1)
	must(t, s.Stop(ctx))
}

// Defect 10: Add and Remove of a typed nil pointer return ErrNilChild, and
// do not panic, whether the supervisor runs or not.
func TestDefect10TypedNilChild(t *testing.T) {
	nils := []struct {
		name string
		svc  service.Service
	}{
		{"*worker", (*worker)(nil)},
		{"*Supervisor", (*supervisor.Supervisor)(nil)},
		{"*FuncService", (*service.FuncService)(nil)},
	}
	for _, running := range []bool{false, true} {
		for _, n := range nils {
			t.Run(fmt.Sprintf("%s/running=%v", n.name, running), func(t *testing.T) {
				ctx := bg(t)
				s := newSup(supervisor.Spec{}, nil)
				if running {
					must(t, service.Start(ctx, s))
					defer func() { must(t, s.Stop(ctx)) }()
				}
				if err := returnsWithin(t, 10*time.Second, func() error { return s.Add(ctx, n.svc) }); !errors.Is(err, supervisor.ErrNilChild) {
					t.Errorf("Add: %v, want ErrNilChild", err)
				}
				if err := returnsWithin(t, 10*time.Second, func() error { return s.Remove(ctx, n.svc) }); !errors.Is(err, supervisor.ErrNilChild) {
					t.Errorf("Remove: %v, want ErrNilChild", err)
				}
				if len(s.Children()) != 0 {
					t.Errorf("children %+v", s.Children())
				}
			})
		}
	}
}

// Defect 11: a child whose stop reports an error (OnStop, OnShutdown, a
// closer via Defer, a late task error): one crash is one restart, not a
// failed attempt (no ErrMaxRestarts with MaxRestarts 1), and a StopFailed
// event carries the error.
func TestDefect11StopErrorsDoNotFailRestart(t *testing.T) {
	errStop := errors.New("stop half failed")
	for _, kind := range []string{"OnStop", "OnShutdown", "closer", "late task error"} {
		t.Run(kind, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}, MaxRestarts: 1}, ev)
			w := newD("w")
			stopping := make(chan struct{})
			w.onStart = func(ctx context.Context, n int32) error {
				if n != 1 {
					return nil
				}
				switch kind {
				case "closer":
					return w.Defer(func() error { return errStop })
				case "late task error":
					return w.Go("late", func(ctx context.Context) error {
						<-ctx.Done()
						<-stopping // returns once the stop has begun
						return errStop
					})
				}
				return nil
			}
			w.onStop = func(_ context.Context, n int32) error {
				if n != 1 {
					return nil
				}
				if kind == "late task error" {
					close(stopping)
				}
				if kind == "OnStop" {
					return errStop
				}
				return nil
			}
			w.onShutdown = func(_ context.Context, n int32) error {
				if n == 1 && kind == "OnShutdown" {
					return errStop
				}
				return nil
			}
			must(t, s.Add(ctx, w))
			must(t, service.Start(ctx, s))

			w.Crash(errBoom)
			got := ev.wait(t, supervisor.StopFailed, "w", 1)
			if !errors.Is(got[0].Reason, errStop) {
				t.Fatalf("StopFailed reason %v", got[0].Reason)
			}
			ev.wait(t, supervisor.ChildRestarted, "w", 1)
			settle(t, ctx, s, ev)
			if n, m := ev.count(supervisor.StartFailed, ""), ev.count(supervisor.MaxRestartsExceeded, ""); n != 0 || m != 0 {
				t.Fatalf("the stop error counted as a failed start: %s", ev)
			}
			if s.State() != service.Running || w.State() != service.Running || w.starts.Load() != 2 {
				t.Fatalf("sup %v (%v), w %v with %d starts", s.State(), s.CrashReason(), w.State(), w.starts.Load())
			}
			must(t, s.Stop(ctx))
		})
	}
}

// Defect 12: one stuck task (it ignores its ctx) under a supervisor: the
// supervisor does not retry in a burst, the failure names the stuck task,
// and it escalates (ErrMaxRestarts wrapping service.ErrStopTimeout) in
// bounded time; with backoff the attempts are spaced by the delays.
func TestDefect12StuckTaskEscalatesInBoundedTime(t *testing.T) {
	for _, withBackoff := range []bool{false, true} {
		t.Run(map[bool]string{false: "no backoff", true: "backoff"}[withBackoff], func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			spec := supervisor.Spec{Service: service.Config{Name: "sup"}, MaxRestarts: 3, Window: time.Minute}
			var clk *clock.Fake
			if withBackoff {
				clk = clock.NewFake(time.Unix(1000, 0))
				spec.Service.Clock = clk
				spec.Backoff = strategy.Backoff{Min: time.Second, Max: time.Minute, NoJitter: true}
			}
			s := newSup(spec, ev)
			w := newWorker("w")
			must(t, s.Add(ctx, w, supervisor.ChildSpec{ShutdownTimeout: 100 * time.Millisecond}))
			must(t, service.Start(ctx, s))
			release, taskDone := make(chan struct{}), make(chan struct{})
			defer func() {
				close(release)
				recv(t, taskDone, "the stuck task to return")
			}()
			must(t, w.Go("stuck-task", func(context.Context) error {
				defer close(taskDone)
				<-release // ignores its ctx
				return nil
			}))

			t0 := time.Now()
			w.Crash(errBoom)
			wantFailed := 1
			if withBackoff {
				wantFailed = 3 // the crash and two failed attempts fill MaxRestarts
				delay := time.Second
				for i := 1; i <= wantFailed; i++ {
					ev.wait(t, supervisor.BackoffStarted, "w", i)
					if i > 1 {
						settle(t, ctx, s, ev) // no attempt before the delay is over
						if n := ev.count(supervisor.StartFailed, "w"); n != i-1 {
							t.Fatalf("%d failed attempts before delay #%d was over", n, i)
						}
					}
					clk.Advance(delay)
					ev.wait(t, supervisor.StartFailed, "w", i)
					delay *= 2
				}
			}
			err := s.WaitUntilStopped(ctx)
			if el := time.Since(t0); el > 5*time.Second {
				t.Fatalf("escalation took %v", el)
			}
			if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), "stuck-task") {
				t.Fatalf("supervisor's reason %v, want ErrMaxRestarts wrapping ErrStopTimeout naming the task", err)
			}
			failed := ev.wait(t, supervisor.StartFailed, "w", 1)
			if len(failed) != wantFailed {
				t.Fatalf("%d failed attempts, want %d: %s", len(failed), wantFailed, ev)
			}
			for _, f := range failed {
				if !errors.Is(f.Reason, service.ErrStopTimeout) || !strings.Contains(f.Reason.Error(), "stuck-task") {
					t.Fatalf("StartFailed reason %v does not name the stuck task", f.Reason)
				}
			}
			if w.Starts() != 1 {
				t.Fatalf("stuck child started %d times", w.Starts())
			}
			_ = s.Stop(ctx) // its error names the stuck task again
		})
	}
}

// Defect 13: a child's own Restart after its supervisor stopped is
// ErrNotRunning and the child stays down; the Restart of a terminated
// child runs it and the supervisor knows (its next crash is handled);
// RestartChild of a running child is ErrChildRunning.
func TestDefect13ChildRestartGoesThroughSupervisor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, ctx context.Context, s *supervisor.Supervisor, w *worker)
	}{
		{"never started", func(*testing.T, context.Context, *supervisor.Supervisor, *worker) {}},
		{"stopped", func(t *testing.T, ctx context.Context, s *supervisor.Supervisor, _ *worker) {
			must(t, service.Start(ctx, s))
			must(t, s.Stop(ctx))
		}},
		{"gave up", func(t *testing.T, ctx context.Context, s *supervisor.Supervisor, w *worker) {
			must(t, service.Start(ctx, s))
			w.Crash(errBoom)
			if err := s.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) {
				t.Fatalf("reason %v", err)
			}
		}},
	} {
		t.Run("supervisor "+tc.name, func(t *testing.T) {
			ctx := bg(t)
			s := newSup(supervisor.Spec{NeverRestart: true}, nil)
			w := newWorker("w")
			must(t, s.Add(ctx, w))
			tc.setup(t, ctx, s, w)
			before := w.State()
			err := returnsWithin(t, 10*time.Second, func() error { return w.Restart(ctx) })
			if !errors.Is(err, supervisor.ErrNotRunning) {
				t.Fatalf("child's Restart: %v, want ErrNotRunning", err)
			}
			if st := w.State(); st != before || st == service.Running {
				t.Fatalf("child %v after a refused restart (was %v)", st, before)
			}
			_ = s.Stop(ctx) // the supervisor may have crashed
		})
	}

	t.Run("terminated child's own Restart", func(t *testing.T) {
		ctx := bg(t)
		ev := newEvents()
		s := newSup(supervisor.Spec{}, ev)
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		must(t, s.Terminate(ctx, "w"))
		must(t, w.Restart(ctx))
		if ci, _ := childInfo(t, s, "w"); w.State() != service.Running || ci.Terminated {
			t.Fatalf("after Restart: %v, %+v", w.State(), ci)
		}
		n := ev.count(supervisor.ChildRestarted, "w")
		w.Crash(errBoom)
		ev.wait(t, supervisor.ChildRestarted, "w", n+1)
		if w.State() != service.Running || w.Starts() != 3 {
			t.Fatalf("after its next crash: %v, %d starts", w.State(), w.Starts())
		}
		must(t, s.Stop(ctx))
	})

	t.Run("RestartChild of a running child", func(t *testing.T) {
		ctx := bg(t)
		s := newSup(supervisor.Spec{}, nil)
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		if err := s.RestartChild(ctx, "w"); !errors.Is(err, supervisor.ErrChildRunning) {
			t.Fatalf("RestartChild: %v, want ErrChildRunning", err)
		}
		if w.Starts() != 1 || w.State() != service.Running {
			t.Fatalf("child %v, %d starts", w.State(), w.Starts())
		}
		must(t, s.Stop(ctx))
	})
}

// Defect 14: Crash(err) on a service.Func from outside is a crash
// (ChildCrashed, not ChildExited), whatever the function then returns: a
// Transient Func child is restarted.
func TestDefect14FuncCrashFromOutside(t *testing.T) {
	for _, tc := range []struct {
		name string
		ret  func(ctx context.Context) error
	}{
		{"returns nil", func(context.Context) error { return nil }},
		{"returns ctx.Err()", func(ctx context.Context) error { return ctx.Err() }},
		{"returns the cause", func(ctx context.Context) error { return context.Cause(ctx) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{}, ev)
			runs := make(chan struct{}, 4)
			f := service.Func("f", func(ctx context.Context) error {
				runs <- struct{}{}
				<-ctx.Done()
				return tc.ret(ctx)
			})
			f.Configure(service.Config{Logger: &quiet})
			must(t, s.Add(ctx, f, supervisor.ChildSpec{Restart: strategy.Transient}))
			must(t, service.Start(ctx, s))
			recv(t, runs, "the first run")
			f.Crash(errBoom)
			got := ev.wait(t, supervisor.ChildCrashed, "f", 1)
			if !errors.Is(got[0].Reason, errBoom) {
				t.Fatalf("crash reason %v", got[0].Reason)
			}
			ev.wait(t, supervisor.ChildRestarted, "f", 1)
			recv(t, runs, "the run after the restart")
			settle(t, ctx, s, ev)
			if n := ev.count(supervisor.ChildExited, "f"); n != 0 || f.State() != service.Running {
				t.Fatalf("%d ChildExited events, f %v: %s", n, f.State(), ev)
			}
			must(t, s.Stop(ctx))
		})
	}
}
