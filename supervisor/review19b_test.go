package supervisor_test

// Review 19b: the package's documented claims, each pinned by a case.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// TestReview19bSpecValidate: "Zero always means the default and a negative
// value is ErrBadSpec"; NeverRestart "conflicts with MaxRestarts and
// Window"; Backoff's Validate rules.
func TestReview19bSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec supervisor.Spec
		want error // nil: valid
	}{
		{"zero", supervisor.Spec{}, nil},
		{"NeverRestart alone", supervisor.Spec{NeverRestart: true}, nil},
		{"NeverRestart with Window", supervisor.Spec{NeverRestart: true, Window: time.Second}, supervisor.ErrConflictingOptions},
		{"negative ShutdownTimeout", supervisor.Spec{ShutdownTimeout: -time.Second}, supervisor.ErrBadSpec},
		// Validate said nil for these, and Start then failed.
		{"negative Service.StopTimeout", supervisor.Spec{Service: service.Config{StopTimeout: -time.Second}}, supervisor.ErrBadSpec},
		{"negative Service.ShutdownTimeout", supervisor.Spec{Service: service.Config{ShutdownTimeout: -time.Second}}, supervisor.ErrBadSpec},
		{"negative Service.MonitoringInterval", supervisor.Spec{Service: service.Config{MonitoringInterval: -time.Second}}, supervisor.ErrBadSpec},
		{"unknown AutoShutdown", supervisor.Spec{AutoShutdown: 9}, supervisor.ErrBadSpec},
		{"negative AutoShutdown", supervisor.Spec{AutoShutdown: -1}, supervisor.ErrBadSpec},
		{"negative Strategy", supervisor.Spec{Strategy: -1}, strategy.ErrUnknownStrategy},
		{"backoff NoJitter with Jitter", supervisor.Spec{Backoff: strategy.Backoff{Jitter: 0.1, NoJitter: true}}, supervisor.ErrConflictingOptions},
		{"backoff Factor below 1", supervisor.Spec{Backoff: strategy.Backoff{Factor: 0.5}}, supervisor.ErrBadSpec},
		{"backoff Jitter above 1", supervisor.Spec{Backoff: strategy.Backoff{Jitter: 1.5}}, supervisor.ErrBadSpec},
		{"backoff negative Min", supervisor.Spec{Backoff: strategy.Backoff{Min: -time.Second}}, supervisor.ErrBadSpec},
		{"backoff negative ResetAfter", supervisor.Spec{Backoff: strategy.Backoff{ResetAfter: -time.Second}}, supervisor.ErrBadSpec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
			// "An invalid spec is reported by Start." A negative duration in
			// Service is reported as for any service.
			startWant := tc.want
			if strings.HasPrefix(tc.name, "negative Service.") {
				startWant = service.ErrBadArgument
				if !errors.Is(err, startWant) {
					t.Fatalf("Validate = %v, want it to match %v too", err, startWant)
				}
			}
			s := newSup(tc.spec, nil)
			if err := service.Start(bg(t), s); !errors.Is(err, startWant) {
				t.Fatalf("Start = %v, want %v", err, startWant)
			}
			if s.State() != service.Init {
				t.Fatalf("state %v after a refused start", s.State())
			}
		})
	}
}

// TestReview19bStrings: AutoShutdown "names the mode as OTP does"; each
// EventKind has its own description.
func TestReview19bStrings(t *testing.T) {
	for a, want := range map[supervisor.AutoShutdown]string{
		supervisor.NeverShutdown:  "never",
		supervisor.AnySignificant: "any_significant",
		supervisor.AllSignificant: "all_significant",
	} {
		if got := a.String(); got != want {
			t.Errorf("AutoShutdown(%d).String() = %q, want %q", int(a), got, want)
		}
	}
	seen := map[string]supervisor.EventKind{}
	for k := supervisor.ChildCrashed; k <= supervisor.RequestFailed; k++ {
		s := k.String()
		if s == "" {
			t.Errorf("EventKind(%d) has no description", int(k))
		}
		if prev, dup := seen[s]; dup {
			t.Errorf("EventKind(%d) and (%d) both read %q", int(prev), int(k), s)
		}
		seen[s] = k
	}
}

// r19bSignal is a worker that tells each start on a channel.
type r19bSignal struct {
	worker
	started chan int
}

func newR19bSignal(name string) *r19bSignal {
	w := &r19bSignal{started: make(chan int, 16)}
	w.Configure(service.Config{Name: name, Logger: &quiet})
	return w
}

func (w *r19bSignal) OnStart(ctx context.Context) error {
	err := w.worker.OnStart(ctx)
	w.started <- w.Starts()
	return err
}

// waitStart waits for w's n-th start.
func (w *r19bSignal) waitStart(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case k := <-w.started:
			if k >= n {
				return
			}
		case <-timeout:
			t.Fatalf("%s: start %d never came", w.Label(), n)
		}
	}
}

// TestReview19bZeroSupervisor: "Its zero value is usable (all defaults)".
func TestReview19bZeroSupervisor(t *testing.T) {
	ctx := bg(t)
	var s supervisor.Supervisor
	s.Configure(service.Config{Logger: &quiet})
	w := newR19bSignal("w")
	must(t, s.Add(ctx, w))
	must(t, service.Start(ctx, &s))
	w.waitStart(t, 1)
	w.Crash(errBoom)
	w.waitStart(t, 2) // restarted: one-for-one, within the default intensity
	if got := s.Spec().Strategy; got != strategy.OneForOne {
		t.Errorf("zero Supervisor's strategy %v", got)
	}
	must(t, s.Stop(ctx))
}

// TestReview19bNotRunning: RestartChild "returns ... ErrNotRunning when the
// supervisor is not running"; Add "ErrNotRunning while the supervisor stops
// or has crashed".
func TestReview19bNotRunning(t *testing.T) {
	ctx := bg(t)
	t.Run("RestartChild before start", func(t *testing.T) {
		s := newSup(supervisor.Spec{}, nil)
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		if err := s.RestartChild(ctx, "w"); !errors.Is(err, supervisor.ErrNotRunning) {
			t.Fatalf("RestartChild = %v, want ErrNotRunning", err)
		}
		if w.State() != service.Init {
			t.Fatalf("child state %v", w.State())
		}
	})
	t.Run("RestartChild after stop", func(t *testing.T) {
		s := newSup(supervisor.Spec{}, nil)
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		must(t, s.Stop(ctx))
		if err := s.RestartChild(ctx, "w"); !errors.Is(err, supervisor.ErrNotRunning) {
			t.Fatalf("RestartChild = %v, want ErrNotRunning", err)
		}
		if w.State() != service.Shutdown || w.Starts() != 1 {
			t.Fatalf("child state %v, %d starts", w.State(), w.Starts())
		}
	})
	t.Run("Add to a crashed supervisor", func(t *testing.T) {
		s := newSup(supervisor.Spec{NeverRestart: true}, nil)
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		w.Crash(errBoom)
		if err := s.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) {
			t.Fatalf("supervisor ended with %v", err)
		}
		late := newWorker("late")
		if err := s.Add(ctx, late); !errors.Is(err, supervisor.ErrNotRunning) {
			t.Errorf("Add to a crashed supervisor = %v, want ErrNotRunning", err)
		}
		if late.State() != service.Init || late.Node().Parent() != nil {
			t.Errorf("late child: state %v, attached %v", late.State(), late.Node().Parent() != nil)
		}
		if err := s.RestartChild(ctx, "w"); !errors.Is(err, supervisor.ErrNotRunning) {
			t.Errorf("RestartChild on a crashed supervisor = %v, want ErrNotRunning", err)
		}
		must(t, s.Stop(ctx))
	})
}

// TestReview19bAddDependencyWhileRunning: "AddDependency is Add with the
// default child spec and no ctx": on a running supervisor it adds and
// starts the child (a plain service's AddDependency returns ErrRunning).
func TestReview19bAddDependencyWhileRunning(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{}, ev)
	must(t, service.Start(ctx, s))
	w := newWorker("w")
	must(t, s.AddDependency(w))
	if w.State() != service.Running {
		t.Fatalf("child added by AddDependency: state %v", w.State())
	}
	info := s.Children()
	if len(info) != 1 || info[0].ID != "w" || info[0].Restart != strategy.Permanent {
		t.Fatalf("Children: %+v", info)
	}
	// Supervised: a crash is restarted.
	w.Crash(errBoom)
	ev.wait(t, supervisor.ChildRestarted, "w", 1)
	// RemoveDependency is Remove.
	must(t, s.RemoveDependency(ctx, w))
	if len(s.Children()) != 0 || w.State() != service.Shutdown {
		t.Fatalf("after RemoveDependency: %+v, %v", s.Children(), w.State())
	}
	must(t, s.Stop(ctx))
}

// TestReview19bAddEndedCtx: "An error always means the child was not
// added"; with ctx already ended the child is not started, and can be
// added again.
func TestReview19bAddEndedCtx(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{}, nil)
	must(t, service.Start(ctx, s))
	ended, cancel := context.WithCancel(ctx)
	cancel()
	w := newWorker("w")
	err := s.Add(ended, w)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Add with an ended ctx = %v, want context.Canceled", err)
	}
	if len(s.Children()) != 0 || w.Node().Parent() != nil || s.Child("w") != nil {
		t.Fatalf("child kept after a failed Add: %+v", s.Children())
	}
	if w.State() != service.Init && w.State() != service.Shutdown {
		t.Fatalf("child state %v after a failed Add", w.State())
	}
	must(t, s.Add(ctx, w))
	if w.State() != service.Running {
		t.Fatalf("child state %v after the second Add", w.State())
	}
	must(t, s.Stop(ctx))
}

// TestReview19bTerminateTemporary: "A Temporary child's spec is removed"
// by Terminate; Child then returns nil, and a ChildRemoved event says so.
func TestReview19bTerminateTemporary(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{}, ev)
	w := newWorker("tmp")
	must(t, s.Add(ctx, w, supervisor.ChildSpec{Restart: strategy.Temporary}))
	must(t, service.Start(ctx, s))
	must(t, s.Terminate(ctx, "tmp"))
	if w.State() != service.Shutdown {
		t.Errorf("terminated child state %v", w.State())
	}
	if info := s.Children(); len(info) != 0 {
		t.Errorf("Temporary child's spec kept: %+v", info)
	}
	if c := s.Child("tmp"); c != nil {
		t.Errorf("Child(tmp) = %v", c.Label())
	}
	ev.wait(t, supervisor.ChildRemoved, "tmp", 1)
	if err := s.RestartChild(ctx, "tmp"); !errors.Is(err, supervisor.ErrNoChild) {
		t.Errorf("RestartChild of a removed Temporary child = %v, want ErrNoChild", err)
	}
	must(t, s.Stop(ctx))
}

// r19bStopErr is a worker whose OnStop fails.
type r19bStopErr struct{ worker }

func (w *r19bStopErr) OnStop(context.Context) error { return errBoom }

// TestReview19bRemoveAndTerminateReturnStopErrors: Remove returns "the
// child's stop error (it is removed either way)"; Terminate returns "the
// child's stop error".
func TestReview19bRemoveAndTerminateReturnStopErrors(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{}, nil)
	a, b := &r19bStopErr{}, &r19bStopErr{}
	a.Configure(service.Config{Name: "a", Logger: &quiet})
	b.Configure(service.Config{Name: "b", Logger: &quiet})
	must(t, s.Add(ctx, a))
	must(t, s.Add(ctx, b))
	must(t, service.Start(ctx, s))
	if err := s.Remove(ctx, a); !errors.Is(err, errBoom) {
		t.Errorf("Remove = %v, want the stop's error", err)
	}
	if s.Child("a") != nil || a.Node().Parent() != nil {
		t.Errorf("child kept after a Remove whose stop failed")
	}
	if err := s.Terminate(ctx, "b"); !errors.Is(err, errBoom) {
		t.Errorf("Terminate = %v, want the stop's error", err)
	}
	if info := s.Children(); len(info) != 1 || !info[0].Terminated || b.State() != service.Shutdown {
		t.Errorf("after Terminate: %+v, %v", info, b.State())
	}
	must(t, s.Stop(ctx))
}

// TestReview19bReplacementFails: a Replacement's "panic or a nil result
// fails that restart attempt" (StartFailed, counted), and the supervisor
// gives up at its limit.
func TestReview19bReplacementFails(t *testing.T) {
	for _, how := range []string{"nil", "panic"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{MaxRestarts: 2, Window: time.Hour}, ev)
			w := newWorker("w")
			repl := func() service.Service {
				if how == "panic" {
					panic("no factory today")
				}
				return nil
			}
			must(t, s.Add(ctx, w, supervisor.ChildSpec{Replacement: repl}))
			must(t, service.Start(ctx, s))
			w.Crash(errBoom)
			err := s.WaitUntilStopped(ctx)
			if !errors.Is(err, supervisor.ErrMaxRestarts) {
				t.Fatalf("supervisor ended with %v, want ErrMaxRestarts", err)
			}
			if n := ev.count(supervisor.StartFailed, "w"); n < 1 {
				t.Fatalf("no StartFailed event: %v", ev)
			}
			for _, e := range ev.wait(t, supervisor.StartFailed, "w", 1) {
				if e.Reason == nil {
					t.Errorf("StartFailed without a reason")
				}
				if how == "panic" && !errors.Is(e.Reason, service.ErrPanic) {
					t.Errorf("StartFailed reason %v, want a panic", e.Reason)
				}
			}
			if w.Starts() != 1 {
				t.Errorf("the old instance was started again (%d starts)", w.Starts())
			}
			must(t, s.Stop(ctx))
		})
	}
}

// TestReview19bMaxRestartsEvent: MaxRestartsExceeded has no child ("" for
// MaxRestartsExceeded) and its reason, like the supervisor's crash
// reason, wraps the last child's reason.
func TestReview19bMaxRestartsEvent(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{NeverRestart: true}, ev)
	w := newWorker("w")
	must(t, s.Add(ctx, w))
	must(t, service.Start(ctx, s))
	w.Crash(errBoom)
	e := ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)[0]
	if e.Child != "" {
		t.Errorf("MaxRestartsExceeded names child %q", e.Child)
	}
	if !errors.Is(e.Reason, errBoom) {
		t.Errorf("MaxRestartsExceeded reason %v, want the child's reason", e.Reason)
	}
	if err := s.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errBoom) {
		t.Errorf("crash reason %v", err)
	}
	must(t, s.Stop(ctx))
}

// TestReview19bOnEventQueuedAdd: from OnEvent, Add "checks its arguments,
// queues the request and returns nil at once; the child is added right
// after the current operation, and a failure is logged and reported as a
// RequestFailed event".
func TestReview19bOnEventQueuedAdd(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	type res struct{ nilErr, dupErr, okErr error }
	got := make(chan res, 1)
	extra := newR19bSignal("extra")
	var s *supervisor.Supervisor
	s = newSup(supervisor.Spec{OnEvent: func(e supervisor.Event) {
		ev.hook(e)
		if e.Kind == supervisor.ChildCrashed && e.Child == "w" {
			var r res
			r.nilErr = s.Add(ctx, nil)
			r.dupErr = s.Add(ctx, newWorker("w")) // duplicate ID: known only when the request runs
			r.okErr = s.Add(ctx, extra)
			got <- r
		}
	}}, nil)
	w := newWorker("w")
	must(t, s.Add(ctx, w))
	must(t, service.Start(ctx, s))
	w.Crash(errBoom)
	r := <-got
	if !errors.Is(r.nilErr, supervisor.ErrNilChild) {
		t.Errorf("Add(nil) from OnEvent = %v, want ErrNilChild at once", r.nilErr)
	}
	if r.dupErr != nil {
		t.Errorf("queued Add of a duplicate from OnEvent = %v, want nil at once", r.dupErr)
	}
	if r.okErr != nil {
		t.Errorf("queued Add from OnEvent = %v", r.okErr)
	}
	fails := ev.wait(t, supervisor.RequestFailed, "", 1)
	if !errors.Is(fails[0].Reason, supervisor.ErrDuplicateID) {
		t.Errorf("RequestFailed reason %v, want ErrDuplicateID", fails[0].Reason)
	}
	ev.wait(t, supervisor.ChildRestarted, "w", 1)
	// The good one was added and started after the restart.
	extra.waitStart(t, 1)
	if c := s.Child("extra"); c != service.Service(extra) {
		t.Errorf("Child(extra) = %v", c)
	}
	must(t, s.Stop(ctx))
}

// TestReview19bRestartChildDuringBackoff: RestartChild starts a child
// "stopped and waiting out a backoff" at once, "not counted toward the
// intensity limit", and the backoff's timer does not start it a second
// time when it fires.
func TestReview19bRestartChildDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		ev := newEvents()
		s := newSup(supervisor.Spec{
			MaxRestarts: 1, Window: 24 * time.Hour,
			Backoff: strategy.Backoff{Min: time.Hour, Max: time.Hour, NoJitter: true},
		}, ev)
		w := newWorker("w")
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		w.Crash(errBoom)
		ev.wait(t, supervisor.BackoffStarted, "w", 1)
		synctest.Wait()
		if w.State() == service.Running {
			t.Fatalf("child running during its backoff")
		}
		must(t, s.RestartChild(ctx, "w"))
		if w.State() != service.Running || w.Starts() != 2 {
			t.Fatalf("after RestartChild: %v, %d starts", w.State(), w.Starts())
		}
		if dump := strings.Join(s.DumpInfo(), "\n"); strings.Contains(dump, "restart due") {
			t.Errorf("a backoff is still due after RestartChild:\n%s", dump)
		}
		time.Sleep(2 * time.Hour) // past the backoff
		synctest.Wait()
		if w.Starts() != 2 || w.State() != service.Running {
			t.Errorf("the backoff restarted the child again: %v, %d starts", w.State(), w.Starts())
		}
		if s.State() != service.Running {
			t.Errorf("supervisor %v: %v", s.State(), s.CrashReason())
		}
		must(t, s.Stop(context.Background()))
	})
}

// TestReview19bSignificantStoppedByOthers: "being stopped by Terminate,
// Remove or the strategy does not count" toward auto-shutdown; the child's
// own normal exit does.
func TestReview19bSignificantStoppedByOthers(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{Strategy: strategy.OneForAll, AutoShutdown: supervisor.AnySignificant, MaxRestarts: 10}, ev)
	sig := func(name string) *worker {
		w := newWorker(name)
		must(t, s.Add(ctx, w, supervisor.ChildSpec{Restart: strategy.Transient, Significant: true}))
		return w
	}
	perm := newWorker("perm")
	must(t, s.Add(ctx, perm))
	a, b, c := sig("a"), sig("b"), sig("c")
	must(t, service.Start(ctx, s))

	must(t, s.Terminate(ctx, "a"))
	must(t, s.Remove(ctx, b))
	perm.Crash(errBoom) // one-for-all: c is stopped and restarted by the strategy
	ev.wait(t, supervisor.ChildRestarted, "c", 1)
	if s.State() != service.Running {
		t.Fatalf("supervisor %v after stops made by others (%v)", s.State(), ev)
	}
	if a.State() != service.Shutdown || b.State() != service.Shutdown || c.State() != service.Running {
		t.Fatalf("children: a %v, b %v, c %v", a.State(), b.State(), c.State())
	}
	// c's own normal exit (a Stop from outside) ends it for good: the
	// supervisor stops normally.
	must(t, c.Stop(ctx))
	if err := s.WaitUntilStopped(ctx); err != nil {
		t.Fatalf("supervisor ended with %v, want a normal stop", err)
	}
	if s.State() != service.Shutdown || s.CrashReason() != nil {
		t.Fatalf("supervisor %v, reason %v", s.State(), s.CrashReason())
	}
	if perm.State() != service.Shutdown {
		t.Errorf("perm %v after the auto-shutdown", perm.State())
	}
}

// r19bSlowStop's OnStop waits for its gate and then fails.
type r19bSlowStop struct {
	worker
	gate chan struct{}
	in   chan struct{}
}

func (w *r19bSlowStop) OnStop(context.Context) error {
	close(w.in)
	<-w.gate
	return errBoom
}

// TestReview19bConcurrentStopOfSupervisor: "A concurrent Stop waits and
// returns the first one's result", for a supervisor whose child's stop
// fails.
func TestReview19bConcurrentStopOfSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newSup(supervisor.Spec{}, nil)
		w := &r19bSlowStop{gate: make(chan struct{}), in: make(chan struct{})}
		w.Configure(service.Config{Name: "w", Logger: &quiet})
		must(t, s.Add(ctx, w))
		must(t, service.Start(ctx, s))
		first, second := make(chan error, 1), make(chan error, 1)
		go func() { first <- s.Stop(ctx) }()
		<-w.in
		go func() { second <- s.Stop(ctx) }()
		synctest.Wait() // the second Stop waits for the first (else it could come after it)
		select {
		case err := <-second:
			t.Fatalf("the second Stop returned before the first: %v", err)
		default:
		}
		close(w.gate)
		e1, e2 := <-first, <-second
		if !errors.Is(e1, errBoom) || !errors.Is(e2, errBoom) {
			t.Fatalf("Stops returned %v and %v, want the child's stop error twice", e1, e2)
		}
		if err := s.Stop(ctx); err != nil {
			t.Errorf("a Stop after the stop = %v, want nil", err)
		}
	})
}

// r19bRestarts counts OnRestart calls.
type r19bRestarts struct {
	*r19bSignal
	onRestart chan int
}

func (r *r19bRestarts) OnRestart(context.Context) error {
	r.onRestart <- r.RestartCount()
	return nil
}

// TestReview19bReadmeIntensity: README's example: with MaxRestarts 5 in
// 10s, a crashed child is stopped, reset ("RestartCount goes up by one,
// OnRestart runs") and started again; "after more than 5 restarts in 10
// seconds" (the sixth crash, whose restart would be the sixth), the
// supervisor stops its children and crashes with ErrMaxRestarts.
func TestReview19bReadmeIntensity(t *testing.T) {
	ctx := bg(t)
	s := newSup(supervisor.Spec{MaxRestarts: 5, Window: 10 * time.Second}, nil)
	p := &r19bRestarts{r19bSignal: newR19bSignal("poller"), onRestart: make(chan int, 16)}
	must(t, s.Add(ctx, p))
	running := &r19bRunning{ch: make(chan struct{}, 16)}
	detach, err := service.Observe(p, running)
	must(t, err)
	defer detach()
	must(t, service.Start(ctx, s))
	running.wait(t)
	for i := 1; i <= 5; i++ {
		p.Crash(errBoom) // while Running: a crash, not a failed start
		if n := <-p.onRestart; n != i {
			t.Fatalf("OnRestart saw RestartCount %d, want %d", n, i)
		}
		running.wait(t)
	}
	if s.State() != service.Running {
		t.Fatalf("supervisor %v after 5 restarts", s.State())
	}
	p.Crash(errBoom)
	if err := s.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errBoom) {
		t.Fatalf("supervisor ended with %v", err)
	}
	if p.Starts() != 6 {
		t.Errorf("%d starts, want 6", p.Starts())
	}
	must(t, s.Stop(ctx))
	if p.State() != service.Shutdown {
		t.Errorf("child %v after the give-up", p.State())
	}
}

// r19bRunning is an observer that tells each change to Running.
type r19bRunning struct{ ch chan struct{} }

func (r *r19bRunning) StateChanged(_ service.Service, _, to service.State) {
	if to == service.Running {
		r.ch <- struct{}{}
	}
}

func (r *r19bRunning) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.ch:
	case <-time.After(20 * time.Second):
		t.Fatal("never reached Running")
	}
}
