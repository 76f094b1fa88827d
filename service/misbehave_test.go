package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// The misbehaviour matrix: one piece of user code (a hook, a task, a
// closer, a child's hook) hangs ignoring its ctx, hangs until its ctx
// ends, panics, returns an error, or returns its ctx's error, during a
// Start (with a deadline), a Stop (with a small StopTimeout) or a Restart.
// Each case checks the documented outcome (doc.go "Budgets", Start, Stop,
// Restart): the call returns within its budget (plus a generous second),
// the error says what happened and names an abandoned piece with its
// path, the state is the documented one, and a rolled-back start ran
// OnStop and OnShutdown iff OnStart had returned nil.

// misHow is how the misbehaving piece behaves.
type misHow int

const (
	misHang   misHow = iota // blocks, ignoring its ctx, until the test releases it
	misHonour               // blocks until its ctx ends, then returns nil
	misPanic                // panics
	misFail                 // returns errMis
	misCtxErr               // blocks until its ctx ends, then returns ctx.Err()
)

var misHows = []misHow{misHang, misHonour, misPanic, misFail, misCtxErr}

func (h misHow) String() string {
	return [...]string{"hang", "honour ctx", "panic", "error", "ctx.Err"}[h]
}

var (
	errMis     = errors.New("misbehaving piece failed")
	errTrigger = errors.New("OnStarted fails to force a rollback")
)

// misCtl drives one case: which piece misbehaves, how, and when (armed:
// the piece misbehaves once, at its first call after arming).
type misCtl struct {
	target   string // "p.OnStop", "c.OnStart", "p.task", "p.closer"...
	how      misHow
	armed    atomic.Bool
	entered  atomic.Bool   // the target began to misbehave
	trigger  atomic.Bool   // p.OnStarted fails once (a rollback)
	release  chan struct{} // closed by the test: a hang returns
	returned chan struct{} // closed when a hang has returned
	rec      *recorder
}

func newMisCtl(target string, how misHow) *misCtl {
	return &misCtl{target: target, how: how, release: make(chan struct{}),
		returned: make(chan struct{}), rec: &recorder{}}
}

// act records the call of piece and, if it is the armed target, misbehaves.
func (c *misCtl) act(ctx context.Context, piece string) error {
	c.rec.add("%s", piece)
	if piece != c.target || !c.armed.CompareAndSwap(true, false) {
		return nil
	}
	c.entered.Store(true)
	switch c.how {
	case misHang:
		defer close(c.returned)
		<-c.release
		return nil
	case misHonour:
		<-ctx.Done()
		return nil
	case misPanic:
		panic("misbehaving " + piece)
	case misFail:
		return errMis
	default:
		<-ctx.Done()
		return ctx.Err()
	}
}

// misfit is a service whose every hook goes through its misCtl. The
// parent ("p") also runs task "x" (which waits for its ctx, then acts) and
// pushes a closer in each OnStart.
type misfit struct {
	service.Base
	name     string
	ctl      *misCtl
	withTask bool
}

func (m *misfit) act(ctx context.Context, hook string) error { return m.ctl.act(ctx, m.name+"."+hook) }

func (m *misfit) OnFirstStart(ctx context.Context) error { return m.act(ctx, "OnFirstStart") }
func (m *misfit) OnStart(ctx context.Context) error {
	if m.withTask {
		if err := m.Go("x", func(ctx context.Context) error {
			<-ctx.Done()
			return m.act(ctx, "task")
		}); err != nil {
			return err
		}
		if err := m.Defer(func() error { return m.act(context.Background(), "closer") }); err != nil {
			return err
		}
	}
	return m.act(ctx, "OnStart")
}
func (m *misfit) OnStarted(ctx context.Context) error {
	err := m.act(ctx, "OnStarted")
	if m.name == "p" && m.ctl.trigger.CompareAndSwap(true, false) {
		return errTrigger
	}
	return err
}
func (m *misfit) OnStop(ctx context.Context) error     { return m.act(ctx, "OnStop") }
func (m *misfit) OnShutdown(ctx context.Context) error { return m.act(ctx, "OnShutdown") }
func (m *misfit) OnRestart(ctx context.Context) error  { return m.act(ctx, "OnRestart") }

var (
	_ service.OnFirstStarter = (*misfit)(nil)
	_ service.OnStarter      = (*misfit)(nil)
	_ service.OnStartedHook  = (*misfit)(nil)
	_ service.OnStopper      = (*misfit)(nil)
	_ service.OnShutdowner   = (*misfit)(nil)
	_ service.OnRestarter    = (*misfit)(nil)
)

type misOp int

const (
	opStart   misOp = iota // Start with a ctx that has a deadline
	opStop                 // Stop, StopTimeout misStop
	opRestart              // Restart with a ctx that has a deadline
)

func (o misOp) String() string { return [...]string{"Start", "Stop", "Restart"}[o] }

const (
	misStop      = 200 * time.Millisecond // p's StopTimeout
	misStartDL   = 200 * time.Millisecond // deadline of a Start whose start hook misbehaves
	misRestartDL = 600 * time.Millisecond // deadline of a Restart
	misSlack     = time.Second            // generous: a bound, never a speed
)

// The pieces, by the phase in which they run.
var (
	startPieces   = []string{"p.OnFirstStart", "p.OnStart", "p.OnStarted", "c.OnStart"}
	stopPieces    = []string{"p.OnStop", "p.OnShutdown", "p.task", "p.closer", "c.OnStop"}
	restartPieces = []string{"p.OnRestart", "c.OnRestart"}
)

type misCase struct {
	op    misOp
	piece string
	how   misHow
}

func (mc misCase) name() string { return fmt.Sprintf("%v/%s/%v", mc.op, mc.piece, mc.how) }

// misCases is the matrix: every piece that runs during the operation,
// every behaviour it can have (a closer has no ctx to honour).
func misCases() []misCase {
	var out []misCase
	add := func(op misOp, pieces []string) {
		for _, p := range pieces {
			for _, h := range misHows {
				if strings.HasSuffix(p, ".closer") && (h == misHonour || h == misCtxErr) {
					continue
				}
				out = append(out, misCase{op: op, piece: p, how: h})
			}
		}
	}
	add(opStart, startPieces)
	add(opStart, stopPieces) // during the rollback of a start failing at OnStarted
	add(opStop, stopPieces)
	add(opRestart, stopPieces)
	add(opRestart, restartPieces)
	add(opRestart, startPieces[1:]) // no OnFirstStart on a restart
	return out
}

func isStartPiece(piece string) bool { return slices.Contains(startPieces, piece) }

// tag is what names piece in an error it returned.
func tag(piece string) string {
	_, what, _ := strings.Cut(piece, ".")
	switch what {
	case "task":
		return `task "x"`
	case "closer":
		return "exit stack"
	}
	return what
}

// abandonedName is how an error names piece once it is abandoned: its
// path from the root, then what it is.
func abandonedName(piece string) string {
	who, what, _ := strings.Cut(piece, ".")
	path := "p"
	if who == "c" {
		path = "p/c"
	}
	switch what {
	case "task":
		return path + `: task "x"`
	case "closer":
		return path + ": exit stack did not return"
	}
	return path + ": " + what + " did not return"
}

func TestMisbehaviourService(t *testing.T) {
	for _, mc := range misCases() {
		t.Run(mc.name(), func(t *testing.T) {
			t.Parallel()
			mc.run(t)
		})
	}
}

func (mc misCase) run(t testing.TB) {
	ctl := newMisCtl(mc.piece, mc.how)
	logs := &logBuf{} // a rolled-back start reports its stop's errors in the log only
	logger := zerolog.New(logs)
	p := &misfit{name: "p", ctl: ctl, withTask: true}
	p.Configure(service.Config{Name: "p", Logger: &logger, StopTimeout: misStop})
	c := &misfit{name: "c", ctl: ctl}
	c.Configure(service.Config{Name: "c", Logger: &logger}) // takes what its parent gives
	if err := p.AddDependency(c); err != nil {
		t.Fatal(err)
	}
	long, cancelLong := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelLong()

	// Whatever happens, release a hang and wait until it has returned, and
	// leave nothing running: goleak checks at the end.
	defer func() {
		close(ctl.release)
		if mc.how == misHang && ctl.entered.Load() {
			select {
			case <-ctl.returned:
			case <-time.After(10 * time.Second):
				t.Errorf("the hung %s never returned after its release", mc.piece)
			}
		}
		if st := p.State(); st != service.Init && st != service.Shutdown {
			if err := p.Stop(long); err != nil {
				t.Errorf("final Stop (nothing armed): %v", err)
			}
		}
	}()

	var err error
	var elapsed, bound time.Duration
	switch mc.op {
	case opStart:
		dl := misStartDL
		bound = misStartDL + misStop + misSlack
		if !isStartPiece(mc.piece) {
			// The piece runs in the rollback of a start failing at
			// OnStarted: bounded by the stop budget, not the start ctx.
			dl, bound = 20*time.Second, misStop+misSlack
			ctl.trigger.Store(true)
		}
		ctx, cancel := context.WithTimeout(context.Background(), dl)
		defer cancel()
		ctl.armed.Store(true)
		began := time.Now()
		err = service.Start(ctx, p)
		elapsed = time.Since(began)
	case opStop, opRestart:
		if err := service.Start(long, p); err != nil {
			t.Fatal(err)
		}
		ctl.rec.take()
		ctx, cancel := context.WithTimeout(context.Background(), misRestartDL)
		defer cancel()
		bound = misRestartDL + misStop + misSlack
		if mc.op == opStop {
			ctx, bound = long, misStop+misSlack
		}
		ctl.armed.Store(true)
		began := time.Now()
		if mc.op == opStop {
			err = p.Stop(ctx)
		} else {
			err = p.Restart(ctx)
		}
		elapsed = time.Since(began)
	}
	if !ctl.entered.Load() {
		t.Fatalf("%s was never called", mc.piece)
	}
	if elapsed > bound {
		t.Errorf("%v took %v, budget + slack %v", mc.op, elapsed, bound)
	}
	events := ctl.rec.take()

	switch {
	case mc.op == opStop:
		wantPieceErr(t, err, mc.piece, mc.how, false)
		wantState(t, service.Shutdown, p, c)
		// Stop goes on with every step, whatever the piece did.
		wantCalled(t, events, "p.OnStop", "c.OnStop", "c.OnShutdown", "p.closer", "p.OnShutdown")

	case mc.op == opStart && !isStartPiece(mc.piece):
		if !errors.Is(err, errTrigger) {
			t.Fatalf("Start: %v, want the OnStarted error", err)
		}
		wantState(t, service.Init, p, c)
		wantCalled(t, events, "p.OnStop", "c.OnStop", "c.OnShutdown", "p.closer", "p.OnShutdown")
		wantRollbackLog(t, logs.String(), mc.piece, mc.how)

	case isStartPiece(mc.piece): // a Start, or the start half of a Restart
		wantPieceErr(t, err, mc.piece, mc.how, true)
		wantState(t, service.Init, p)
		if mc.op == opStart || childReached(mc.piece) {
			wantState(t, service.Init, c)
		} else {
			wantState(t, service.Shutdown, c) // stopped by the stop half, never started again
		}
		if mc.op == opRestart {
			i := slices.Index(events, "c.OnRestart")
			if i < 0 {
				t.Fatalf("no OnRestart before the start half: %v", events)
			}
			events = events[i+1:]
		}
		wantRollbackHooks(t, events, mc.piece, mc.how)

	case slices.Contains(restartPieces, mc.piece):
		// OnRestart is bounded by the stop budget; its error or panic
		// fails the restart, which then does not start.
		if mc.how == misHonour && mc.piece == "c.OnRestart" {
			// c has no StopTimeout of its own: its OnRestart takes the
			// budget the caller gives, the Restart's ctx, and returns when
			// that ends; the start half then fails with the ctx's error.
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, service.ErrStopTimeout) {
				t.Errorf("Restart: %v, want the ctx's deadline", err)
			}
			wantState(t, service.Init, p)
			break
		}
		if mc.how == misHonour {
			if err != nil {
				t.Errorf("Restart: %v, want nil (OnRestart returned nil when its ctx ended)", err)
			}
			wantState(t, service.Running, p, c)
			break
		}
		wantPieceErr(t, err, mc.piece, mc.how, false)
		wantState(t, service.Shutdown, p, c)
		if slices.Contains(events, "p.OnStart") {
			t.Errorf("the restart started after OnRestart failed: %v", events)
		}

	default: // the stop half of a Restart: reported, never a failed start
		wantPieceErr(t, err, mc.piece, mc.how, false)
		wantState(t, service.Running, p, c)
		wantCalled(t, events, "p.OnStop", "c.OnStop", "c.OnShutdown", "p.closer", "p.OnShutdown",
			"p.OnRestart", "c.OnRestart", "p.OnStart", "c.OnStart", "c.OnStarted", "p.OnStarted")
	}
}

// wantPieceErr checks the error of an operation during which piece
// behaved as how. inStart: piece is a start hook, whose ctx ends with the
// start ctx (context.Canceled or DeadlineExceeded); else its ctx ends with
// the stop budget (DeadlineExceeded), and a task's ctx error is silent.
func wantPieceErr(t testing.TB, err error, piece string, how misHow, inStart bool) {
	t.Helper()
	isTask := strings.HasSuffix(piece, ".task")
	ctxEnded := errors.Is(err, context.DeadlineExceeded) || (inStart && errors.Is(err, context.Canceled))
	abandoned := err != nil && (strings.Contains(err.Error(), "did not return") || strings.Contains(err.Error(), "still running"))
	switch how {
	case misHang:
		if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), abandonedName(piece)) {
			t.Errorf("error %v: want ErrStopTimeout naming %q", err, abandonedName(piece))
		}
		return
	case misHonour:
		if inStart {
			if !ctxEnded {
				t.Errorf("error %v: want the start ctx's error", err)
			}
		} else if err != nil {
			t.Errorf("error %v: want nil (the piece returned nil when its ctx ended)", err)
		}
	case misCtxErr:
		switch {
		case isTask:
			if err != nil {
				t.Errorf("error %v: a task returning its ctx's error after Stop is silent", err)
			}
		case !ctxEnded || !strings.Contains(err.Error(), tag(piece)):
			t.Errorf("error %v: want the ctx's error from %s", err, tag(piece))
		}
	case misPanic:
		var pe *service.PanicError
		if !errors.Is(err, service.ErrPanic) || !errors.As(err, &pe) || len(pe.Stack) == 0 ||
			!strings.Contains(err.Error(), tag(piece)) {
			t.Errorf("error %v: want a *PanicError with its stack from %s", err, tag(piece))
		}
	case misFail:
		if !errors.Is(err, errMis) || !strings.Contains(err.Error(), tag(piece)) {
			t.Errorf("error %v: want errMis from %s", err, tag(piece))
		}
	}
	// Only a piece that ignores its ctx is abandoned.
	if errors.Is(err, service.ErrStopTimeout) || abandoned {
		t.Errorf("error %v: %s (%v) reported as abandoned", err, piece, how)
	}
}

// wantRollbackLog checks what the rollback of a failed start logged of
// piece: its stop's errors go to the log only (Start returns the start's
// error).
func wantRollbackLog(t testing.TB, logs, piece string, how misHow) {
	t.Helper()
	var line string // the error the rollback logged
	for l := range strings.Lines(logs) {
		var rec struct{ Message, Error string }
		if json.Unmarshal([]byte(l), &rec) == nil && rec.Message == "rolling back a failed start" {
			line = rec.Error
		}
	}
	var want []string
	switch how {
	case misHang:
		want = []string{"stop timed out", abandonedName(piece)}
	case misPanic:
		want = []string{"mode: panic", tag(piece)}
	case misFail:
		want = []string{errMis.Error(), tag(piece)}
	case misCtxErr:
		if !strings.HasSuffix(piece, ".task") {
			want = []string{context.DeadlineExceeded.Error(), tag(piece)}
		}
	}
	for _, w := range want {
		if !strings.Contains(line, w) {
			t.Errorf("rollback log %q lacks %q", line, w)
		}
	}
	if len(want) == 0 && line != "" {
		t.Errorf("rollback reported errors for a piece that behaved (%v): %s", how, line)
	}
	if how != misHang && (strings.Contains(line, "did not return") || strings.Contains(line, "still running")) {
		t.Errorf("rollback abandoned %s (%v): %s", piece, how, line)
	}
}

// wantRollbackHooks checks the fx rule on a start that failed because of
// piece: OnStop and OnShutdown ran iff OnStart had returned nil, for p
// and for its child c.
func wantRollbackHooks(t testing.TB, events []string, piece string, how misHow) {
	t.Helper()
	// OnStart returned nil (a hook honouring its ctx returns nil).
	pOK := piece != "p.OnFirstStart" && (piece != "p.OnStart" || how == misHonour)
	cOK := childReached(piece) && (piece != "c.OnStart" || how == misHonour)
	for _, w := range []struct {
		who string
		ok  bool
	}{{"p", pOK}, {"c", cOK}} {
		for _, h := range []string{"OnStop", "OnShutdown"} {
			if got := slices.Contains(events, w.who+"."+h); got != w.ok {
				t.Errorf("%s.%s ran: %v, want %v (OnStart returned nil: %v): %v", w.who, h, got, w.ok, w.ok, events)
			}
		}
	}
	// The exit stack runs whenever the start got far enough to push it.
	if got := slices.Contains(events, "p.closer"); got != (piece != "p.OnFirstStart") {
		t.Errorf("closer ran: %v: %v", got, events)
	}
}

// childReached: the start got to its children step when piece misbehaved
// (a start hook honouring its ctx returns nil, but the start then stops at
// the next check of its ctx).
func childReached(piece string) bool { return piece == "c.OnStart" || piece == "p.OnStarted" }

func wantCalled(t testing.TB, events []string, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if !slices.Contains(events, p) {
			t.Errorf("%s was not called: %v", p, events)
		}
	}
}

func wantState(t testing.TB, want service.State, ss ...*misfit) {
	t.Helper()
	for _, s := range ss {
		if st := s.State(); st != want {
			t.Errorf("%s: state %v, want %v", s.name, st, want)
		}
	}
}
