package supervisor_test

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
)

// The misbehaviour matrix under a supervisor: one piece of a child's code
// (a hook, a task, a closer, its Replacement factory) hangs ignoring its
// ctx, hangs until its ctx ends, panics, returns an error, or returns its
// ctx's error, during the supervisor's Start (with a deadline), a
// crash-triggered restart, or the supervisor's Stop. Each case checks the
// documented outcome (doc.go "Budgets", "Failed restarts"): calls return
// within their budget (plus a generous second), an abandoned piece is
// named with its path, its siblings are unaffected, a stuck child is never
// started again while its abandoned code runs, and a stuck child escalates
// in bounded time (ErrMaxRestarts wrapping ErrStopTimeout, no backoff).

type supHow int

const (
	supHang   supHow = iota // blocks, ignoring its ctx, until the test releases it
	supHonour               // blocks until its ctx ends, then returns nil
	supPanic                // panics
	supFail                 // returns errMis (a Replacement: returns nil)
	supCtxErr               // blocks until its ctx ends, then returns ctx.Err()
)

var supHows = []supHow{supHang, supHonour, supPanic, supFail, supCtxErr}

func (h supHow) String() string {
	return [...]string{"hang", "honour ctx", "panic", "error", "ctx.Err"}[h]
}

var errMis = errors.New("misbehaving piece failed")

// supCtl drives one case: the child "bad"'s piece misbehaves once, at its
// first call after arming.
type supCtl struct {
	target   string // "OnStop", "task", "closer", "Replacement"...
	how      supHow
	armed    atomic.Bool
	entered  chan struct{} // closed when the target begins to misbehave
	release  chan struct{} // closed by the test: a hang returns
	returned chan struct{} // closed when a hang has returned

	mu    sync.Mutex
	calls []string      // "first.OnStop", "bad.task", ...
	cond  chan struct{} // closed and replaced at each call
}

func newSupCtl(target string, how supHow) *supCtl {
	return &supCtl{target: target, how: how, entered: make(chan struct{}), release: make(chan struct{}),
		returned: make(chan struct{}), cond: make(chan struct{})}
}

func (c *supCtl) record(call string) {
	c.mu.Lock()
	c.calls = append(c.calls, call)
	close(c.cond)
	c.cond = make(chan struct{})
	c.mu.Unlock()
}

// count returns how many times call was recorded.
func (c *supCtl) count(call string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, x := range c.calls {
		if x == call {
			n++
		}
	}
	return n
}

// waitCount waits until call was recorded n times.
func (c *supCtl) waitCount(t testing.TB, call string, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		cond := c.cond
		c.mu.Unlock()
		if c.count(call) >= n {
			return
		}
		select {
		case <-cond:
		case <-timeout:
			t.Fatalf("%s was not called %d times", call, n)
		}
	}
}

// misbehave reports whether piece is the armed target; the caller then
// misbehaves (once).
func (c *supCtl) misbehave(piece string) bool {
	if piece != c.target || !c.armed.CompareAndSwap(true, false) {
		return false
	}
	close(c.entered)
	return true
}

func (c *supCtl) hang() {
	defer close(c.returned)
	<-c.release
}

func (c *supCtl) waitEntered(t testing.TB) {
	t.Helper()
	select {
	case <-c.entered:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s was never called", c.target)
	}
}

func (c *supCtl) began() bool {
	select {
	case <-c.entered:
		return true
	default:
		return false
	}
}

// act records the call of hook by who and, if it is bad's armed target,
// misbehaves.
func (c *supCtl) act(ctx context.Context, who, hook string) error {
	c.record(who + "." + hook)
	if who != "bad" || !c.misbehave(hook) {
		return nil
	}
	switch c.how {
	case supHang:
		c.hang()
		return nil
	case supHonour:
		<-ctx.Done()
		return nil
	case supPanic:
		panic("misbehaving " + hook)
	case supFail:
		return errMis
	default:
		<-ctx.Done()
		return ctx.Err()
	}
}

// unruly is a child whose every hook, its task "x" and its closer go
// through its supCtl.
type unruly struct {
	service.Base
	name string
	ctl  *supCtl

	mu       sync.Mutex
	stopping chan struct{} // closed by this run's OnStop
}

func newUnruly(name string, ctl *supCtl) *unruly {
	u := &unruly{name: name, ctl: ctl}
	u.Configure(service.Config{Name: name, Logger: &quiet})
	return u
}

func (u *unruly) OnFirstStart(ctx context.Context) error {
	return u.ctl.act(ctx, u.name, "OnFirstStart")
}
func (u *unruly) OnStart(ctx context.Context) error {
	stopping := make(chan struct{})
	u.mu.Lock()
	u.stopping = stopping
	u.mu.Unlock()
	if err := u.Go("x", func(ctx context.Context) error {
		<-ctx.Done()
		if u.name == "bad" && u.ctl.target == "task" {
			// Misbehave once the supervisor stops this run, not at the
			// crash that cancelled it: the crash reason is taken already.
			<-stopping
		}
		return u.ctl.act(ctx, u.name, "task")
	}); err != nil {
		return err
	}
	if err := u.Defer(func() error { return u.ctl.act(context.Background(), u.name, "closer") }); err != nil {
		return err
	}
	return u.ctl.act(ctx, u.name, "OnStart")
}
func (u *unruly) OnStarted(ctx context.Context) error { return u.ctl.act(ctx, u.name, "OnStarted") }
func (u *unruly) OnStop(ctx context.Context) error {
	u.mu.Lock()
	if u.stopping != nil {
		close(u.stopping)
		u.stopping = nil
	}
	u.mu.Unlock()
	return u.ctl.act(ctx, u.name, "OnStop")
}
func (u *unruly) OnShutdown(ctx context.Context) error { return u.ctl.act(ctx, u.name, "OnShutdown") }
func (u *unruly) OnRestart(ctx context.Context) error  { return u.ctl.act(ctx, u.name, "OnRestart") }

var (
	_ service.OnFirstStarter = (*unruly)(nil)
	_ service.OnStarter      = (*unruly)(nil)
	_ service.OnStartedHook  = (*unruly)(nil)
	_ service.OnStopper      = (*unruly)(nil)
	_ service.OnShutdowner   = (*unruly)(nil)
	_ service.OnRestarter    = (*unruly)(nil)
)

type supOp int

const (
	opSupStart supOp = iota // the supervisor's Start, with a deadline
	opCrash                 // bad crashes; the supervisor restarts it
	opSupStop               // the supervisor's Stop
)

func (o supOp) String() string { return [...]string{"Start", "CrashRestart", "Stop"}[o] }

const (
	badShutdown = 200 * time.Millisecond // bad's ChildSpec.ShutdownTimeout
	badStop     = 300 * time.Millisecond // bad's own StopTimeout: bounds its OnRestart
	supStopTO   = 5 * time.Second        // the supervisor's StopTimeout: never reached
	supStartDL  = 200 * time.Millisecond // deadline of the supervisor's Start
	supSlack    = time.Second            // generous: a bound, never a speed
)

var (
	supStartPieces = []string{"OnFirstStart", "OnStart", "OnStarted"}
	supStopPieces  = []string{"OnStop", "OnShutdown", "task", "closer"}
	supRestartOnly = []string{"OnRestart", "OnStart", "OnStarted", "Replacement"}
)

type supCase struct {
	op    supOp
	piece string
	how   supHow
	// again: while the abandoned piece still runs, start the supervisor
	// again; bad must not start.
	again bool
	// together: the supervisor has Spec.StopTogether (its Stop cancels
	// the three children at once).
	together bool
}

func (sc supCase) name() string {
	n := fmt.Sprintf("%v/%s/%v", sc.op, sc.piece, sc.how)
	if sc.again {
		n += "/start again while stuck"
	}
	if sc.together {
		n += "/together"
	}
	return n
}

func supCases() []supCase {
	var out []supCase
	add := func(op supOp, pieces []string) {
		for _, p := range pieces {
			for _, h := range supHows {
				noCtx := p == "closer" || p == "Replacement"
				if noCtx && (h == supHonour || h == supCtxErr) {
					continue
				}
				out = append(out, supCase{op: op, piece: p, how: h})
				if h == supHang && p != "Replacement" { // a hung Replacement checks it itself
					out = append(out, supCase{op: op, piece: p, how: h, again: true})
				}
			}
		}
	}
	add(opSupStart, supStartPieces)
	add(opCrash, supStopPieces)
	add(opCrash, supRestartOnly)
	add(opSupStop, supStopPieces)
	for _, c := range out {
		if c.op == opSupStop {
			c.together = true
			out = append(out, c)
		}
	}
	return out
}

// supTag is what names piece in an error it returned.
func supTag(piece string) string {
	switch piece {
	case "task":
		return `task "x"`
	case "closer":
		return "exit stack"
	}
	return piece
}

// supAbandoned is how an error names bad's piece once abandoned.
func supAbandoned(piece string) string {
	switch piece {
	case "task":
		return `sup/bad: task "x"`
	case "closer":
		return "sup/bad: exit stack did not return"
	}
	return "sup/bad: " + piece + " did not return"
}

// supStuck is how an error names bad's piece still running from an
// earlier run.
func supStuck(piece string) string { return "sup/bad: " + supTag(piece) }

func TestMisbehaviourSupervisor(t *testing.T) {
	for _, sc := range supCases() {
		t.Run(sc.name(), func(t *testing.T) {
			t.Parallel()
			sc.run(t)
		})
	}
}

// supFixture is a supervisor "sup" with children first, bad, last.
type supFixture struct {
	ctl               *supCtl
	ev                *events
	sup               *supervisor.Supervisor
	first, bad, last  *unruly
	firstAt, lastAt   int // starts of the siblings before the operation
	long              context.Context
	replacementCalled atomic.Int32
}

func (sc supCase) run(t testing.TB) {
	ctl := newSupCtl(sc.piece, sc.how)
	long, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := &supFixture{ctl: ctl, ev: newEvents(), long: long}
	f.sup = newSup(supervisor.Spec{Service: service.Config{Name: "sup", StopTimeout: supStopTO}, StopTogether: sc.together}, f.ev)
	f.first, f.bad, f.last = newUnruly("first", ctl), newUnruly("bad", ctl), newUnruly("last", ctl)
	f.bad.Configure(service.Config{Name: "bad", Logger: &quiet, StopTimeout: badStop})
	spec := supervisor.ChildSpec{ShutdownTimeout: badShutdown}
	if sc.piece == "Replacement" {
		spec.Replacement = func() service.Service {
			f.replacementCalled.Add(1)
			if !ctl.misbehave("Replacement") {
				fresh := newUnruly("bad", ctl)
				fresh.Configure(service.Config{Name: "bad", Logger: &quiet, StopTimeout: badStop})
				return fresh
			}
			switch sc.how {
			case supHang:
				ctl.hang()
			case supPanic:
				panic("misbehaving Replacement")
			}
			return nil // a nil result fails the attempt
		}
	}
	for _, err := range []error{
		f.sup.Add(context.Background(), f.first),
		f.sup.Add(context.Background(), f.bad, spec),
		f.sup.Add(context.Background(), f.last),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	defer func() {
		close(ctl.release)
		if sc.how == supHang && ctl.began() {
			select {
			case <-ctl.returned:
			case <-time.After(10 * time.Second):
				t.Errorf("the hung %s never returned after its release", sc.piece)
			}
		}
		if sc.piece == "Replacement" && sc.how == supHang {
			// The abandoned goroutine goes on and stops the children it
			// still holds, first last: wait for it.
			f.ctl.waitCount(t, "first.OnShutdown", 1)
		}
		if st := f.sup.State(); st != service.Init && st != service.Shutdown {
			if err := f.sup.Stop(f.long); err != nil && sc.how != supHang {
				t.Errorf("final Stop: %v", err)
			}
		}
	}()

	if sc.op == opSupStart {
		sc.supStart(t, f)
		return
	}
	if err := service.Start(f.long, f.sup); err != nil {
		t.Fatal(err)
	}
	f.firstAt, f.lastAt = ctl.count("first.OnStart"), ctl.count("last.OnStart")
	ctl.armed.Store(true)
	switch sc.op {
	case opCrash:
		sc.crash(t, f)
	case opSupStop:
		sc.supStop(t, f)
	}
}

// supStart: bad's start hook misbehaves during the supervisor's Start,
// whose ctx has a deadline: Start returns by it, rolled back.
func (sc supCase) supStart(t testing.TB, f *supFixture) {
	ctx, cancel := context.WithTimeout(context.Background(), supStartDL)
	defer cancel()
	f.ctl.armed.Store(true)
	began := time.Now()
	err := service.Start(ctx, f.sup)
	elapsed := time.Since(began)
	if bound := supStartDL + badShutdown + supSlack; elapsed > bound {
		t.Errorf("Start took %v, want < %v", elapsed, bound)
	}
	wantStartErr(t, err, sc.piece, sc.how)
	if st := f.sup.State(); st != service.Init {
		t.Errorf("sup: state %v, want init", st)
	}
	for _, u := range []*unruly{f.first, f.bad, f.last} {
		if st := u.State(); st == service.Running || st == service.Starting {
			t.Errorf("%s left %v by a failed start", u.name, st)
		}
	}
	if f.ctl.count("last.OnStart") != 0 {
		t.Error("last was started after bad failed")
	}
	if f.ctl.count("first.OnStart") == 1 && f.ctl.count("first.OnShutdown") != 1 {
		t.Error("first was started and not stopped by the rollback")
	}
	if sc.again {
		wantNoStartWhileStuck(t, f, sc.piece, func() error { return service.Start(f.long, f.sup) })
	}
}

// crash: bad crashes; the supervisor restarts it (stop, OnRestart, start)
// and bad's piece misbehaves on the way.
func (sc supCase) crash(t testing.TB, f *supFixture) {
	began := time.Now()
	f.bad.Crash(errBoom)
	stopHalf := slices.Contains(supStopPieces, sc.piece)
	switch {
	case stopHalf && sc.how == supHang:
		// Abandoned at bad's shutdown timeout and reported; the new start
		// waits up to the shutdown timeout for it, then fails with
		// ErrStopTimeout: without backoff the supervisor gives up at once.
		sc.wantGiveUp(t, f, began, 2*badShutdown, supStuck(sc.piece))
		stop := f.ev.wait(t, supervisor.StopFailed, "bad", 1)[0]
		if !errors.Is(stop.Reason, service.ErrStopTimeout) || !strings.Contains(stop.Reason.Error(), supAbandoned(sc.piece)) {
			t.Errorf("StopFailed: %v, want ErrStopTimeout naming %q", stop.Reason, supAbandoned(sc.piece))
		}
		if sc.again {
			wantNoStartWhileStuck(t, f, sc.piece, func() error { return f.sup.Restart(f.long) })
		}

	case stopHalf:
		// What the stop half reports never fails the restart.
		f.ev.wait(t, supervisor.ChildRestarted, "bad", 1)
		if elapsed, bound := time.Since(began), badShutdown+supSlack; elapsed > bound {
			t.Errorf("restart took %v, want < %v", elapsed, bound)
		}
		var reason error
		if n := f.ev.count(supervisor.StopFailed, "bad"); n > 0 {
			reason = f.ev.wait(t, supervisor.StopFailed, "bad", 1)[0].Reason
		}
		wantPieceErr(t, reason, sc.piece, sc.how)
		if n := f.ev.count(supervisor.StartFailed, ""); n != 0 {
			t.Errorf("%d failed starts: %s", n, f.ev)
		}
		sc.wantRunning(t, f)

	case sc.piece == "OnRestart" && sc.how == supHang:
		// Abandoned at bad's stop timeout: the attempt fails with
		// ErrStopTimeout and, without backoff, the supervisor gives up.
		sc.wantGiveUp(t, f, began, badStop, supAbandoned(sc.piece))
		if sc.again {
			wantNoStartWhileStuck(t, f, sc.piece, func() error { return f.sup.Restart(f.long) })
		}

	case sc.piece == "OnRestart" && sc.how == supHonour:
		f.ev.wait(t, supervisor.ChildRestarted, "bad", 1)
		if elapsed, bound := time.Since(began), badStop+supSlack; elapsed > bound {
			t.Errorf("restart took %v, want < %v", elapsed, bound)
		}
		if n := f.ev.count(supervisor.StartFailed, ""); n != 0 {
			t.Errorf("%d failed starts: %s", n, f.ev)
		}
		sc.wantRunning(t, f)

	case sc.how == supPanic || sc.how == supFail || (sc.piece == "OnRestart" && sc.how == supCtxErr):
		// The attempt fails, counts, and is retried: the piece behaves the
		// second time.
		failed := f.ev.wait(t, supervisor.StartFailed, "bad", 1)[0]
		wantStartFailure(t, failed.Reason, sc.piece, sc.how)
		f.ev.wait(t, supervisor.ChildRestarted, "bad", 1)
		if n := f.replacementCalled.Load(); sc.piece == "Replacement" && n != 2 {
			t.Errorf("Replacement called %d times, want 2 (the failed attempt, its retry)", n)
		}
		if elapsed, bound := time.Since(began), badStop+supSlack; elapsed > bound {
			t.Errorf("restart took %v, want < %v", elapsed, bound)
		}
		sc.wantRunning(t, f)

	case sc.piece == "Replacement": // hang: the supervisor's goroutine is stuck in it
		f.ctl.waitEntered(t)
		sc.stopStuckGoroutine(t, f)

	default: // a start hook blocking: the start ctx is the supervisor's run
		f.ctl.waitEntered(t)
		sc.stopDuringStart(t, f)
	}
}

// wantGiveUp waits for the supervisor to give up on bad within bound +
// slack, with ErrMaxRestarts wrapping ErrStopTimeout naming name.
func (sc supCase) wantGiveUp(t testing.TB, f *supFixture, began time.Time, bound time.Duration, name string) {
	t.Helper()
	f.ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)
	if elapsed := time.Since(began); elapsed > bound+supSlack {
		t.Errorf("gave up after %v, want < %v", elapsed, bound+supSlack)
	}
	err := f.sup.WaitUntilStopped(f.long)
	if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, service.ErrStopTimeout) ||
		!strings.Contains(err.Error(), name) {
		t.Errorf("supervisor reason %v: want ErrMaxRestarts wrapping ErrStopTimeout naming %q", err, name)
	}
	if n := f.ev.count(supervisor.StartFailed, "bad"); n != 1 {
		t.Errorf("%d failed starts, want 1 (no retry burst): %s", n, f.ev)
	}
	for _, u := range []*unruly{f.first, f.bad, f.last} {
		if st := u.State(); st == service.Running {
			t.Errorf("%s still running after the supervisor gave up", u.name)
		}
	}
}

// wantRunning checks the outcome of a successful restart of bad: bad
// runs again, its siblings were never touched.
func (sc supCase) wantRunning(t testing.TB, f *supFixture) {
	t.Helper()
	bad, _ := f.sup.Child("bad").(*unruly)
	for _, u := range []*unruly{f.first, bad, f.last} {
		if st := u.State(); st != service.Running {
			t.Errorf("%s: state %v, want running", u.name, st)
		}
	}
	if f.ctl.count("first.OnStart") != f.firstAt || f.ctl.count("last.OnStart") != f.lastAt ||
		f.ctl.count("first.OnStop")+f.ctl.count("last.OnStop") != 0 {
		t.Errorf("a sibling was stopped or restarted: %v", f.ctl.calls)
	}
}

// stopDuringStart: bad's start hook blocks the restart; the supervisor's
// Stop cancels the start's ctx, so it returns by its budget, bad rolled
// back, the abandoned hook named.
func (sc supCase) stopDuringStart(t testing.TB, f *supFixture) {
	t.Helper()
	began := time.Now()
	err := f.sup.Stop(f.long)
	if elapsed, bound := time.Since(began), badShutdown+supSlack; elapsed > bound {
		t.Errorf("Stop took %v, want < %v", elapsed, bound)
	}
	if sc.how == supHang {
		// The restart gave up on the hook (its own error went to a
		// StartFailed event); the Stop names it as still running.
		if name := "sup/bad: " + sc.piece; !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), name) {
			t.Errorf("Stop: %v, want ErrStopTimeout naming %q", err, name)
		}
	} else if err != nil {
		t.Errorf("Stop: %v, want nil (the hook honoured its ctx)", err)
	}
	sc.wantAllStopped(t, f)
	if sc.again {
		wantNoStartWhileStuck(t, f, sc.piece, func() error { return f.sup.Restart(f.long) })
	}
}

// stopStuckGoroutine: the supervisor's goroutine is stuck in a hung
// Replacement: its Stop returns by its budget, says what the goroutine is
// busy with, and a new start is refused until the goroutine has returned.
func (sc supCase) stopStuckGoroutine(t testing.TB, f *supFixture) {
	t.Helper()
	const budget = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(f.long, budget)
	defer cancel()
	began := time.Now()
	err := f.sup.Stop(ctx)
	if elapsed, bound := time.Since(began), budget+supSlack; elapsed > bound {
		t.Errorf("Stop took %v, want < %v", elapsed, bound)
	}
	if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), "the Replacement of bad") {
		t.Errorf("Stop: %v, want ErrStopTimeout saying the goroutine is busy with the Replacement of bad", err)
	}
	if st := f.sup.State(); st != service.Shutdown {
		t.Errorf("sup: state %v, want shutdown", st)
	}
	for _, u := range []*unruly{f.first, f.last} {
		if st := u.State(); st != service.Shutdown {
			t.Errorf("sibling %s: state %v after the supervisor's Stop, want shutdown", u.name, st)
		}
	}
	err = f.sup.Restart(f.long)
	if !errors.Is(err, service.ErrStopTimeout) || f.sup.State() == service.Running {
		t.Errorf("Restart while the goroutine is stuck: %v (state %v), want ErrStopTimeout", err, f.sup.State())
	}
	if f.ctl.count("first.OnStart") != f.firstAt || f.ctl.count("last.OnStart") != f.lastAt {
		t.Errorf("a sibling was started again while the old goroutine is stuck: %v", f.ctl.calls)
	}
}

// supStop: bad's stop piece misbehaves during the supervisor's Stop: bad
// gets its own shutdown timeout, never the supervisor's whole budget, and
// its siblings still stop normally.
func (sc supCase) supStop(t testing.TB, f *supFixture) {
	began := time.Now()
	err := f.sup.Stop(f.long)
	if elapsed, bound := time.Since(began), badShutdown+supSlack; elapsed > bound {
		t.Errorf("Stop took %v, want < %v (bad's shutdown timeout + slack; the supervisor's budget is %v)",
			elapsed, bound, supStopTO)
	}
	wantPieceErr(t, err, sc.piece, sc.how)
	for _, sib := range []string{"sup/first", "sup/last", "first:", "last:"} {
		if err != nil && strings.Contains(err.Error(), sib) {
			t.Errorf("Stop: %v names a sibling that behaved", err)
		}
	}
	sc.wantAllStopped(t, f)
	for _, sib := range []string{"first", "last"} {
		for _, h := range []string{"OnStop", "OnShutdown"} {
			if f.ctl.count(sib+"."+h) != 1 {
				t.Errorf("%s.%s not called once: %v", sib, h, f.ctl.calls)
			}
		}
	}
	if sc.again {
		wantNoStartWhileStuck(t, f, sc.piece, func() error { return f.sup.Restart(f.long) })
	}
}

func (sc supCase) wantAllStopped(t testing.TB, f *supFixture) {
	t.Helper()
	if st := f.sup.State(); st != service.Shutdown {
		t.Errorf("sup: state %v, want shutdown", st)
	}
	for _, u := range []*unruly{f.first, f.bad, f.last} {
		if st := u.State(); st != service.Shutdown && st != service.Init {
			t.Errorf("%s: state %v after the supervisor's Stop", u.name, st)
		}
	}
}

// wantNoStartWhileStuck: while bad's abandoned piece still runs, starting
// the supervisor again must not start bad: the attempt fails with
// ErrStopTimeout naming the piece.
func wantNoStartWhileStuck(t testing.TB, f *supFixture, piece string, start func() error) {
	t.Helper()
	began := time.Now()
	err := start()
	if elapsed, bound := time.Since(began), badShutdown+supSlack; elapsed > bound {
		t.Errorf("start while stuck took %v, want < %v", elapsed, bound)
	}
	if st := f.bad.State(); st == service.Running || st == service.Starting {
		t.Errorf("bad started again (%v) while its %s still runs; start: %v", st, piece, err)
	}
	if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), supStuck(piece)) {
		t.Errorf("start while stuck: %v, want ErrStopTimeout naming %q", err, supStuck(piece))
	}
}

// wantPieceErr checks what a stop reported of bad's stop piece: its ctx
// ends with the shutdown budget; a task's ctx error is silent.
func wantPieceErr(t testing.TB, err error, piece string, how supHow) {
	t.Helper()
	switch how {
	case supHang:
		if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), supAbandoned(piece)) {
			t.Errorf("error %v: want ErrStopTimeout naming %q", err, supAbandoned(piece))
		}
		return
	case supHonour:
		if err != nil {
			t.Errorf("error %v: want nil (the piece returned nil when its ctx ended)", err)
		}
	case supCtxErr:
		if piece == "task" {
			if err != nil {
				t.Errorf("error %v: a task returning its ctx's error after Stop is silent", err)
			}
		} else if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), supTag(piece)) {
			t.Errorf("error %v: want the ctx's deadline from %s", err, supTag(piece))
		}
	case supPanic:
		var pe *service.PanicError
		if !errors.Is(err, service.ErrPanic) || !errors.As(err, &pe) || !strings.Contains(err.Error(), supTag(piece)) {
			t.Errorf("error %v: want a *PanicError from %s", err, supTag(piece))
		}
	case supFail:
		if !errors.Is(err, errMis) || !strings.Contains(err.Error(), supTag(piece)) {
			t.Errorf("error %v: want errMis from %s", err, supTag(piece))
		}
	}
	if errors.Is(err, service.ErrStopTimeout) {
		t.Errorf("error %v: %s (%v) reported as abandoned", err, piece, how)
	}
}

// wantStartFailure checks the reason of a failed restart attempt.
func wantStartFailure(t testing.TB, err error, piece string, how supHow) {
	t.Helper()
	var want error
	switch how {
	case supPanic:
		want = service.ErrPanic
	case supFail:
		want = errMis
	case supCtxErr:
		want = context.DeadlineExceeded
	}
	if piece == "Replacement" && how == supFail {
		if err == nil || !strings.Contains(err.Error(), "Replacement") {
			t.Errorf("StartFailed: %v, want the Replacement's nil result", err)
		}
		return
	}
	if !errors.Is(err, want) || !strings.Contains(err.Error(), piece) {
		t.Errorf("StartFailed: %v, want %v from %s", err, want, piece)
	}
	if errors.Is(err, service.ErrStopTimeout) {
		t.Errorf("StartFailed: %v: reported as abandoned", err)
	}
}

// wantStartErr checks the supervisor's Start error when bad's start hook
// misbehaved.
func wantStartErr(t testing.TB, err error, piece string, how supHow) {
	t.Helper()
	switch how {
	case supHang:
		if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), supAbandoned(piece)) {
			t.Errorf("Start: %v, want ErrStopTimeout naming %q", err, supAbandoned(piece))
		}
		return
	case supHonour, supCtxErr:
		if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			t.Errorf("Start: %v, want the start ctx's error", err)
		}
	case supPanic:
		if !errors.Is(err, service.ErrPanic) || !strings.Contains(err.Error(), piece) {
			t.Errorf("Start: %v, want a panic from %s", err, piece)
		}
	case supFail:
		if !errors.Is(err, errMis) || !strings.Contains(err.Error(), piece) {
			t.Errorf("Start: %v, want errMis from %s", err, piece)
		}
	}
	if errors.Is(err, service.ErrStopTimeout) {
		t.Errorf("Start: %v: %s (%v) reported as abandoned", err, piece, how)
	}
}
