package mode_test

// Review 23: a hostile review of the Worker (the process around the tree):
// every phase against every stimulus, public operations called from inside
// the tree, logging and dumping outputs that misbehave, and what is left
// running once Run has returned.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

var r23Nop = zerolog.Nop()

// r23Svc is a service whose hooks are function fields (nil: no-op) and
// which, if task is set, runs it as a task of each run.
type r23Svc struct {
	service.Base
	onStart, onStarted, onStop, onShutdown func(ctx context.Context) error
	task                                   func(ctx context.Context) error
}

func newR23(name string, cfg service.Config) *r23Svc {
	s := &r23Svc{}
	cfg.Name = name
	if cfg.Logger == nil {
		cfg.Logger = &r23Nop
	}
	s.Configure(cfg)
	return s
}

func call(fn func(context.Context) error, ctx context.Context) error {
	if fn == nil {
		return nil
	}
	return fn(ctx)
}

func (s *r23Svc) OnStart(ctx context.Context) error {
	if err := call(s.onStart, ctx); err != nil {
		return err
	}
	if s.task != nil {
		return s.Go("task", s.task)
	}
	return nil
}
func (s *r23Svc) OnStarted(ctx context.Context) error  { return call(s.onStarted, ctx) }
func (s *r23Svc) OnStop(ctx context.Context) error     { return call(s.onStop, ctx) }
func (s *r23Svc) OnShutdown(ctx context.Context) error { return call(s.onShutdown, ctx) }

// r23Run runs w on a goroutine and returns a function that waits (at most
// limit, a generous bound, never a synchronisation) for Run's error.
func r23Run(t *testing.T, w *mode.Worker, ctx context.Context) func(limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func(limit time.Duration) error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(limit):
			t.Fatalf("Run did not return within %v", limit)
			return nil
		}
	}
}

func r23Kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), sig); err != nil {
		t.Fatal(err)
	}
}

// blockingWriter blocks every Write until released; entered is closed at
// the first Write.
type blockingWriter struct {
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return len(p), nil
}

// TestReview23DumpToBlocks: a DumpTo that blocks (stderr, a full pipe
// nobody reads) must not make the Worker deaf: SIGTERM still stops the
// tree, a second SIGTERM still exits at once.
func TestReview23DumpToBlocks(t *testing.T) {
	bw := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(bw.release)
	root := newR23("root", service.Config{})
	ready := make(chan struct{})
	w := &mode.Worker{Service: root, Logger: &r23Nop, DumpTo: bw, StopTimeout: time.Second, Ready: func() { close(ready) }}
	wait := r23Run(t, w, context.Background())
	<-ready
	r23Kill(t, syscall.SIGUSR1)
	select {
	case <-bw.entered:
	case <-time.After(waitLimit):
		t.Fatal("no dump")
	}
	r23Kill(t, syscall.SIGUSR1) // skipped: the first one is still being written
	r23Kill(t, syscall.SIGTERM)
	if err := wait(5 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestReview23DumpToBlocksForcedExit: with DumpTo blocked by a dump, a
// second SIGTERM during a hung stop still exits at once (ExitForced),
// though the list of what still runs cannot be written.
func TestReview23DumpToBlocksForcedExit(t *testing.T) {
	bw := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	release := make(chan struct{})
	defer close(bw.release)
	defer close(release)
	root := newR23("root", service.Config{StopTimeout: time.Minute})
	stopping := make(chan struct{})
	root.onStop = func(context.Context) error { close(stopping); <-release; return nil }
	ready := make(chan struct{})
	w := &mode.Worker{Service: root, Logger: &r23Nop, DumpTo: bw, StopTimeout: time.Minute, Ready: func() { close(ready) }}
	wait := r23Run(t, w, context.Background())
	<-ready
	r23Kill(t, syscall.SIGUSR1)
	<-bw.entered
	r23Kill(t, syscall.SIGTERM)
	<-stopping
	r23Kill(t, syscall.SIGTERM)
	if err := wait(5 * time.Second); mode.ExitCode(err) != mode.ExitForced {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
}

// TestReview23LogFileAfterStopTimeout: after a stop that ran out of its
// budget (ExitStopTimeout), the abandoned hook still runs and the service
// logs when it finally returns ("is logged when it finally returns"): the
// Worker's LogFile must still take that line, as after a forced exit.
func TestReview23LogFileAfterStopTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "worker.log")
	release := make(chan struct{})
	returned := make(chan struct{})
	root := &r23Svc{}
	root.Configure(service.Config{Name: "root"}) // logs where the Worker does
	root.onStop = func(context.Context) error {
		defer close(returned)
		<-release
		return nil
	}
	w := &mode.Worker{Service: root, LogFile: path, StopTimeout: 100 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	w.Ready = cancel
	err := r23Run(t, w, ctx)(10 * time.Second)
	if mode.ExitCode(err) != mode.ExitStopTimeout {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
	close(release)
	<-returned
	deadline := time.Now().Add(waitLimit)
	for {
		b, rerr := os.ReadFile(path)
		must(t, rerr)
		if strings.Contains(string(b), "abandoned hook returned late") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned hook's return was not logged to LogFile:\n%s", b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReview23RootRestartFromTask: the root restarting itself (an admin
// endpoint restarting the whole tree) is not the end of its run: the
// Worker must go on running the restarted tree, not stop it as if it had
// ended.
func TestReview23RootRestartFromTask(t *testing.T) {
	var root *r23Svc
	root = newR23("root", service.Config{})
	started := make(chan int, 4)
	root.onStarted = func(context.Context) error { started <- root.RestartCount(); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &mode.Worker{Service: root, Logger: &r23Nop, StopTimeout: time.Second}
	wait := r23Run(t, w, ctx)
	if n := <-started; n != 0 {
		t.Fatalf("restart count %d", n)
	}
	rerr := make(chan error, 1)
	go func() { rerr <- root.Restart(context.Background()) }()
	select {
	case n := <-started:
		if n != 1 {
			t.Fatalf("restart count %d", n)
		}
	case <-time.After(waitLimit):
		t.Fatal("no restart")
	}
	if err := <-rerr; err != nil { // it returns once the root runs again
		t.Fatalf("Restart: %v; root %v", err, root.State())
	}
	if root.State() != service.Running {
		t.Fatalf("after the restart the root is %v: the Worker stopped it", root.State())
	}
	cancel()
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// r23Ext is an extension that calls fn at each step (nil: no-op).
type r23Ext struct {
	fn func(ctx context.Context, s mode.Step) error
}

func (e *r23Ext) WorkerPhase(ctx context.Context, p mode.Phase) error {
	if e.fn == nil {
		return nil
	}
	return e.fn(ctx, p.Step)
}

// TestReview23BudgetWhenUserCodeHangs: "the whole stop returns by it even
// when user code hangs": Run returns within StopTimeout plus slack (the
// extensions' StepStopped gets at least a second) whichever hook ignores
// its ctx, panics, or the tree crashes first, and the exit code is the
// documented one.
func TestReview23BudgetWhenUserCodeHangs(t *testing.T) {
	const budget = 300 * time.Millisecond
	hang := func(release chan struct{}) func(context.Context) error {
		return func(context.Context) error { <-release; return nil }
	}
	for _, tc := range []struct {
		name  string
		setup func(root, child *r23Svc, release chan struct{}) []mode.Extension
		crash bool // the tree crashes instead of ctx ending
		code  int
		limit time.Duration
	}{
		{"root OnStop hangs", func(root, _ *r23Svc, rel chan struct{}) []mode.Extension {
			root.onStop = hang(rel)
			return nil
		}, false, mode.ExitStopTimeout, budget + time.Second},
		{"root OnShutdown hangs", func(root, _ *r23Svc, rel chan struct{}) []mode.Extension {
			root.onShutdown = hang(rel)
			return nil
		}, false, mode.ExitStopTimeout, budget + time.Second},
		{"child OnStop hangs", func(_, child *r23Svc, rel chan struct{}) []mode.Extension {
			child.onStop = hang(rel)
			return nil
		}, false, mode.ExitStopTimeout, budget + time.Second},
		{"task ignores its ctx", func(root, _ *r23Svc, rel chan struct{}) []mode.Extension {
			root.task = hang(rel)
			return nil
		}, false, mode.ExitStopTimeout, budget + time.Second},
		{"root OnStop panics", func(root, _ *r23Svc, _ chan struct{}) []mode.Extension {
			root.onStop = func(context.Context) error { panic("r23") }
			return nil
		}, false, mode.ExitFailure, budget + time.Second},
		{"crash, then OnStop hangs", func(root, _ *r23Svc, rel chan struct{}) []mode.Extension {
			root.onStop = hang(rel)
			return nil
		}, true, mode.ExitStopTimeout, budget + time.Second},
		{"extension hangs at StepStopped", func(_, _ *r23Svc, rel chan struct{}) []mode.Extension {
			return []mode.Extension{&r23Ext{fn: func(_ context.Context, s mode.Step) error {
				if s == mode.StepStopped {
					<-rel
				}
				return nil
			}}}
		}, false, mode.ExitStopTimeout, budget + 3*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			root := newR23("root", service.Config{StopTimeout: time.Minute})
			child := newR23("child", service.Config{StopTimeout: time.Minute})
			must(t, root.AddDependency(child))
			ext := tc.setup(root, child, release)
			crashNow := make(chan struct{})
			if tc.crash { // after the start: a task error during it fails the start
				root.task = func(context.Context) error { <-crashNow; return errBoom }
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &mode.Worker{Service: root, Logger: &r23Nop, StopTimeout: budget, Extensions: ext}
			w.Ready = cancel
			if tc.crash {
				w.Ready = func() { close(crashNow) }
			}
			begin := time.Now()
			err := r23Run(t, w, ctx)(10 * time.Second)
			if took := time.Since(begin); took > tc.limit {
				t.Errorf("Run took %v, budget %v", took, tc.limit)
			}
			if got := mode.ExitCode(err); got != tc.code {
				t.Errorf("Run: %v (exit %d, want %d)", err, got, tc.code)
			}
		})
	}
}

// TestReview23DumpFromInsideTheTree: Worker.Dump "waits for no service":
// called from every hook, a task, Ready and the extensions' steps, during
// the Worker's start and stop, it returns and names the root.
func TestReview23DumpFromInsideTheTree(t *testing.T) {
	var w *mode.Worker
	var mu sync.Mutex
	var where []string
	dump := func(at string) {
		s := w.Dump()
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(s, "root") || !strings.Contains(s, "goroutine ") {
			t.Errorf("dump at %s:\n%s", at, s)
		}
		where = append(where, at)
	}
	hook := func(at string) func(context.Context) error {
		return func(context.Context) error { dump(at); return nil }
	}
	root := newR23("root", service.Config{})
	child := newR23("child", service.Config{})
	must(t, root.AddDependency(child))
	root.onStart, root.onStarted, root.onStop, root.onShutdown = hook("root OnStart"), hook("root OnStarted"), hook("root OnStop"), hook("root OnShutdown")
	child.onStart, child.onStop = hook("child OnStart"), hook("child OnStop")
	taskRan := make(chan struct{})
	child.task = func(ctx context.Context) error { dump("task"); close(taskRan); <-ctx.Done(); return nil }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w = &mode.Worker{Service: root, Logger: &r23Nop, StopTimeout: 5 * time.Second,
		Ready:      func() { dump("Ready"); <-taskRan; cancel() },
		Extensions: []mode.Extension{&r23Ext{fn: func(_ context.Context, s mode.Step) error { dump(s.String()); return nil }}}}
	if err := r23Run(t, w, ctx)(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(where) != 12 {
		t.Fatalf("dumped at %q", where)
	}
}

// TestReview23DumpOfAWorkerWithoutService: Dump is public: on a Worker
// whose Service is nil or a typed nil it must not panic.
func TestReview23DumpOfAWorkerWithoutService(t *testing.T) {
	for _, w := range []*mode.Worker{{}, {Service: (*r23Svc)(nil)}} {
		func() {
			defer func() {
				if v := recover(); v != nil {
					t.Errorf("Dump of %#v panicked: %v", w.Service, v)
				}
			}()
			_ = w.Dump()
		}()
	}
}

// TestReview23DumpWhileRestarting: a dump signal while a supervisor is
// restarting a child whose start hangs (ignoring nothing: it waits to be
// released) is written at once and shows the child starting; then SIGTERM
// stops the whole tree cleanly.
func TestReview23DumpWhileRestarting(t *testing.T) {
	sup := newSup("sup", nil, supervisor.Spec{MaxRestarts: 100})
	child := newR23("child", service.Config{})
	var starts atomic.Int32
	crash := make(chan struct{})
	hung := make(chan struct{})
	child.onStart = func(ctx context.Context) error {
		if starts.Add(1) == 2 {
			close(hung)
			<-ctx.Done() // the restart's start waits until the stop
			return ctx.Err()
		}
		return nil
	}
	child.task = func(ctx context.Context) error {
		select {
		case <-crash:
			return errBoom
		case <-ctx.Done():
			return nil
		}
	}
	must(t, sup.Add(context.Background(), child))
	out := &syncBuffer{hit: make(chan struct{}, 1)}
	ready := make(chan struct{})
	w := &mode.Worker{Service: sup, Logger: &r23Nop, DumpTo: out, StopTimeout: 5 * time.Second, Ready: func() { close(ready) }}
	wait := r23Run(t, w, context.Background())
	<-ready
	close(crash)
	<-hung
	r23Kill(t, syscall.SIGUSR1)
	select {
	case <-out.hit:
	case <-time.After(waitLimit):
		t.Fatal("no dump while restarting")
	}
	r23Kill(t, syscall.SIGTERM)
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := out.String(); !strings.Contains(s, "(child) [starting]") {
		t.Fatalf("dump while restarting:\n%.2000s", s)
	}
}

// TestReview23EveryPhaseEveryStimulus: each phase of the run (start, run,
// stop, rollback) against each stimulus ends with the documented error
// and exit code, within a bound, leaving no goroutine of the tree behind
// when nothing was abandoned.
func TestReview23EveryPhaseEveryStimulus(t *testing.T) {
	type stim int
	const (
		sigterm stim = iota
		sigint
		twoSignals
		cancelCtx
		dumpThenTerm
	)
	for _, tc := range []struct {
		name  string
		phase string // "start" (OnStart waits for ctx), "start-deaf" (ignores it), "run", "stop" (OnStop hangs)
		stim  stim
		code  int
	}{
		{"start/SIGTERM", "start", sigterm, mode.ExitOK},
		{"start/SIGINT", "start", sigint, mode.ExitOK},
		{"start/ctx", "start", cancelCtx, mode.ExitOK},
		{"start/dump then SIGTERM", "start", dumpThenTerm, mode.ExitOK},
		{"start/two signals", "start-deaf", twoSignals, mode.ExitForced},
		{"start ignoring ctx/SIGTERM", "start-deaf", sigterm, mode.ExitStopTimeout},
		{"run/SIGTERM", "run", sigterm, mode.ExitOK},
		{"run/SIGINT", "run", sigint, mode.ExitOK},
		{"run/ctx", "run", cancelCtx, mode.ExitOK},
		{"run/dump then SIGTERM", "run", dumpThenTerm, mode.ExitOK},
		{"stop/two signals", "stop", twoSignals, mode.ExitForced},
		{"stop/ctx then one signal: budget", "stop", cancelCtx, mode.ExitStopTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			in := make(chan struct{}) // closed when the phase is reached
			root := newR23("root", service.Config{StopTimeout: 300 * time.Millisecond})
			switch tc.phase {
			case "start":
				root.onStart = func(ctx context.Context) error { close(in); <-ctx.Done(); return ctx.Err() }
			case "start-deaf":
				root.onStart = func(ctx context.Context) error { close(in); <-release; return nil }
			case "stop":
				root.onStop = func(context.Context) error { close(in); <-release; return nil }
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			out := &syncBuffer{hit: make(chan struct{}, 1)}
			logs := &syncBuffer{}
			logger := zerolog.New(logs)
			w := &mode.Worker{Service: root, Logger: &logger, DumpTo: out, StopTimeout: 300 * time.Millisecond}
			ready := make(chan struct{})
			w.Ready = func() { close(ready) }
			switch tc.phase {
			case "run":
				in = ready
			case "stop":
				w.Ready = cancel // the stop begins for another reason: ctx
			}
			wait := r23Run(t, w, ctx)
			<-in
			switch tc.stim {
			case sigterm:
				r23Kill(t, syscall.SIGTERM)
			case sigint:
				r23Kill(t, syscall.SIGINT)
			case twoSignals:
				r23Kill(t, syscall.SIGTERM)
				// Signals of one kind coalesce until delivered: wait until
				// the first one is taken before sending the second.
				r23WaitLog(t, logs, "send it again")
				r23Kill(t, syscall.SIGTERM)
			case cancelCtx:
				cancel()
				if tc.phase == "stop" {
					r23Kill(t, syscall.SIGTERM) // one signal: noted, the budget still ends it
				}
			case dumpThenTerm:
				r23Kill(t, syscall.SIGUSR1)
				select {
				case <-out.hit:
				case <-time.After(waitLimit):
					t.Fatal("no dump")
				}
				r23Kill(t, syscall.SIGTERM)
			}
			err := wait(5 * time.Second)
			if got := mode.ExitCode(err); got != tc.code {
				t.Fatalf("Run: %v (exit %d, want %d)", err, got, tc.code)
			}
			if tc.code == mode.ExitForced && !strings.Contains(out.String(), "forced exit") {
				t.Errorf("DumpTo after a forced exit:\n%s", out.String())
			}
			if tc.code == mode.ExitOK {
				if st := root.State(); st != service.Shutdown && st != service.Init {
					t.Errorf("root left %v", st)
				}
				goleak.VerifyNone(t, goleak.IgnoreCurrent())
			}
		})
	}
}

// r23WaitLog waits until the log holds want (polling: the log is the
// only sign that the Worker took a signal).
func r23WaitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", want, logs.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReview23OperationsFromInsideTheTree: the root's and a child's Stop,
// Restart and Crash called from the tree's own hooks and tasks, during the
// Worker's start, run and stop: Run returns within a bound with the
// documented code, and nothing of the tree runs once it has returned.
func TestReview23OperationsFromInsideTheTree(t *testing.T) {
	type op func(ctx context.Context, root, child *r23Svc)
	stopRoot := func(ctx context.Context, root, _ *r23Svc) { _ = root.Stop(ctx) }
	restartRoot := func(ctx context.Context, root, _ *r23Svc) { _ = root.Restart(ctx) }
	crashRoot := func(_ context.Context, root, _ *r23Svc) { root.Crash(errBoom) }
	stopChild := func(ctx context.Context, _, child *r23Svc) { _ = child.Stop(ctx) }
	restartChild := func(ctx context.Context, _, child *r23Svc) { _ = child.Restart(ctx) }
	crashChild := func(_ context.Context, _, child *r23Svc) { child.Crash(errBoom) }
	for _, tc := range []struct {
		name  string
		where string // "root OnStart", "child task", "root OnStop", "child OnStop"
		op    op
		code  int
	}{
		{"root stops itself in OnStart", "root OnStart", stopRoot, mode.ExitStartFailed},
		{"root crashes itself in OnStart", "root OnStart", crashRoot, mode.ExitStartFailed},
		{"child task stops the root during the start", "child task during the start", stopRoot, mode.ExitStartFailed},
		{"child task crashes its child during the start", "child task during the start", crashChild, mode.ExitStartFailed},
		{"child task restarts its child during the start", "child task during the start", restartChild, mode.ExitOK},
		{"child task stops the root", "child task", stopRoot, mode.ExitOK},
		{"child task crashes the root", "child task", crashRoot, mode.ExitFailure},
		{"child task stops its child", "child task", stopChild, mode.ExitOK},
		{"child task crashes its child", "child task", crashChild, mode.ExitFailure},
		{"child task restarts its child", "child task", restartChild, mode.ExitOK},
		{"root OnStop stops the root", "root OnStop", stopRoot, mode.ExitOK},
		{"root OnStop restarts the root", "root OnStop", restartRoot, mode.ExitOK},
		{"root OnStop crashes the root", "root OnStop", crashRoot, mode.ExitFailure},
		{"child OnStop restarts the child", "child OnStop", restartChild, mode.ExitOK},
		{"child OnStop restarts the root", "child OnStop", restartRoot, mode.ExitOK},
		{"child OnStop crashes the child", "child OnStop", crashChild, mode.ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := newR23("root", service.Config{StopTimeout: 2 * time.Second})
			child := newR23("child", service.Config{StopTimeout: 2 * time.Second})
			must(t, root.AddDependency(child))
			var once sync.Once
			act := func(ctx context.Context) error { once.Do(func() { tc.op(ctx, root, child) }); return nil }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &mode.Worker{Service: root, Logger: &r23Nop, StopTimeout: 3 * time.Second}
			switch tc.where {
			case "root OnStart":
				root.onStart = act
			case "child task during the start":
				w.Ready = cancel
				child.task = func(ctx context.Context) error { _ = act(ctx); <-ctx.Done(); return nil }
			case "child task":
				started := make(chan struct{})
				w.Ready = func() { close(started) }
				child.task = func(ctx context.Context) error {
					select {
					case <-started:
						_ = act(ctx)
						if tc.code == mode.ExitOK {
							cancel() // the Worker's stop races what the op began
						}
					case <-ctx.Done():
					}
					<-ctx.Done()
					return nil
				}
			case "root OnStop":
				root.onStop = act
				w.Ready = cancel
			case "child OnStop":
				child.onStop = act
				w.Ready = cancel
			}
			err := r23Run(t, w, ctx)(10 * time.Second)
			if got := mode.ExitCode(err); got != tc.code {
				t.Errorf("Run: %v (exit %d, want %d)", err, got, tc.code)
			}
			for _, s := range []*r23Svc{root, child} {
				if st := s.State(); st != service.Init && st != service.Shutdown {
					t.Errorf("%s is %v after Run returned", s.ShortLabel(), st)
				}
			}
			goleak.VerifyNone(t, goleak.IgnoreCurrent())
		})
	}
}

// TestReview23ServiceStates: a Worker whose Service is shared with a
// running Worker, already stopped, or bad; a Worker run again after it
// returned. None touches a tree it does not own; a stopped root runs again.
func TestReview23ServiceStates(t *testing.T) {
	t.Run("shared with a running Worker", func(t *testing.T) {
		root := newR23("root", service.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan struct{})
		w1 := &mode.Worker{Service: root, Logger: &r23Nop, Ready: func() { close(ready) }}
		wait1 := r23Run(t, w1, ctx)
		<-ready
		w2 := &mode.Worker{Service: root, Logger: &r23Nop}
		err := r23Run(t, w2, context.Background())(5 * time.Second)
		if !errors.Is(err, service.ErrAlreadyStarted) || mode.ExitCode(err) != mode.ExitStartFailed {
			t.Errorf("second Worker: %v (exit %d)", err, mode.ExitCode(err))
		}
		if st := root.State(); st != service.Running {
			t.Fatalf("the second Worker left the first's root %v", st)
		}
		cancel()
		if err := wait1(5 * time.Second); err != nil {
			t.Fatalf("first Worker: %v", err)
		}
	})
	t.Run("already stopped", func(t *testing.T) {
		root := newR23("root", service.Config{})
		must(t, service.Start(context.Background(), root))
		must(t, root.Stop(context.Background()))
		// service.Start refuses a stopped service (Restart would run it):
		// the Worker reports it as a failed start and leaves it alone.
		w := &mode.Worker{Service: root, Logger: &r23Nop}
		if err := r23Run(t, w, context.Background())(5 * time.Second); !errors.Is(err, service.ErrAlreadyStarted) ||
			mode.ExitCode(err) != mode.ExitStartFailed {
			t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
		}
		if st := root.State(); st != service.Shutdown {
			t.Fatalf("root %v", st)
		}
		if err := r23Run(t, w, context.Background())(time.Second); !errors.Is(err, mode.ErrRunTwice) {
			t.Fatalf("Run again: %v", err)
		}
	})
	t.Run("bad log options start nothing", func(t *testing.T) {
		dir := t.TempDir()
		ro := filepath.Join(dir, "ro")
		must(t, os.Mkdir(ro, 0o500))
		bad := []*mode.Worker{
			{LogLevel: "verbose"},
			{LogLevel: "info,debug"},
			{LogFile: dir},
			{LogFile: filepath.Join(dir, "missing", "x.log")},
		}
		if os.Geteuid() != 0 { // root writes anywhere
			bad = append(bad, &mode.Worker{LogFile: filepath.Join(ro, "x.log")})
		}
		for _, w := range bad {
			root := newR23("root", service.Config{})
			w.Service = root
			err := r23Run(t, w, context.Background())(time.Second)
			if mode.ExitCode(err) != mode.ExitBadConfig || root.State() != service.Init {
				t.Errorf("LogLevel %q LogFile %q: %v (exit %d), root %v", w.LogLevel, w.LogFile, err, mode.ExitCode(err), root.State())
			}
			// A Worker refused for its configuration has not run: fixed, it runs.
			w.LogLevel, w.LogFile = " WARN ", ""
			ctx, cancel := context.WithCancel(context.Background())
			w.Ready = cancel
			if err := r23Run(t, w, ctx)(5 * time.Second); err != nil {
				t.Errorf("the same Worker, fixed: %v", err)
			}
		}
	})
}

// TestReview23HungStepStoppedAfterACrash: a crash, then an extension whose
// StepStopped ignores its ctx: Run returns by the budget, its error keeps
// the crash reason and names the abandoned step, and the later phase wins
// (ExitStopTimeout); a dump signal during that StepStopped is written.
func TestReview23HungStepStoppedAfterACrash(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	root := newR23("root", service.Config{})
	crashNow := make(chan struct{})
	root.task = func(context.Context) error { <-crashNow; return errBoom }
	inStopped := make(chan struct{})
	ext := &r23Ext{fn: func(_ context.Context, s mode.Step) error {
		if s == mode.StepStopped {
			close(inStopped)
			<-release
		}
		return nil
	}}
	out := &syncBuffer{hit: make(chan struct{}, 1)}
	w := &mode.Worker{Service: root, Logger: &r23Nop, DumpTo: out, StopTimeout: 200 * time.Millisecond,
		Extensions: []mode.Extension{ext}, Ready: func() { close(crashNow) }}
	wait := r23Run(t, w, context.Background())
	<-inStopped
	r23Kill(t, syscall.SIGUSR1)
	select {
	case <-out.hit:
	case <-time.After(waitLimit):
		t.Fatal("no dump during StepStopped")
	}
	err := wait(5 * time.Second)
	if !errors.Is(err, errBoom) || !errors.Is(err, service.ErrStopTimeout) || mode.ExitCode(err) != mode.ExitStopTimeout ||
		!strings.Contains(err.Error(), "StepStopped") {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
}

// TestReview23DumpDuringRollback: a start cancelled by SIGTERM whose
// rollback hangs (OnStop ignores its ctx): a dump signal during the
// rollback is written, and the rollback's budget (the root's own
// StopTimeout) ends it with ExitStopTimeout.
func TestReview23DumpDuringRollback(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	root := newR23("root", service.Config{StopTimeout: 300 * time.Millisecond})
	child := newR23("child", service.Config{})
	must(t, root.AddDependency(child))
	inStart := make(chan struct{})
	inRollback := make(chan struct{})
	child.onStart = func(ctx context.Context) error { close(inStart); <-ctx.Done(); return ctx.Err() }
	root.onStop = func(context.Context) error { close(inRollback); <-release; return nil }
	out := &syncBuffer{hit: make(chan struct{}, 1)}
	w := &mode.Worker{Service: root, Logger: &r23Nop, DumpTo: out, StopTimeout: time.Minute}
	wait := r23Run(t, w, context.Background())
	<-inStart
	r23Kill(t, syscall.SIGTERM)
	<-inRollback
	r23Kill(t, syscall.SIGUSR1)
	select {
	case <-out.hit:
	case <-time.After(waitLimit):
		t.Fatal("no dump during the rollback")
	}
	if err := wait(5 * time.Second); mode.ExitCode(err) != mode.ExitStopTimeout {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
	if s := out.String(); !strings.Contains(s, "(root) [") {
		t.Fatalf("dump:\n%.1500s", s)
	}
}

// TestReview23DumpStorm: dump signals while hooks and other goroutines
// call Worker.Dump, into a DumpTo that is not safe for concurrent use
// (the Worker writes it one write at a time): no race, no lost stop.
func TestReview23DumpStorm(t *testing.T) {
	root := newR23("root", service.Config{})
	var w *mode.Worker
	stop := make(chan struct{})
	root.task = func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-stop:
				<-ctx.Done()
				return nil
			default:
				_ = w.Dump()
			}
		}
	}
	var unsafe strings.Builder // written by the Worker only, read after Run
	ready := make(chan struct{})
	w = &mode.Worker{Service: root, Logger: &r23Nop, DumpTo: &unsafe, StopTimeout: 5 * time.Second, Ready: func() { close(ready) }}
	wait := r23Run(t, w, context.Background())
	<-ready
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = w.Dump() }()
	}
	for range 20 {
		r23Kill(t, syscall.SIGUSR1)
	}
	wg.Wait()
	close(stop)
	r23Kill(t, syscall.SIGTERM)
	if err := wait(10 * time.Second); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !strings.Contains(unsafe.String(), "=== service tree ===") {
		t.Fatalf("no dump written")
	}
}
