package mode

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// DefaultStopTimeout bounds the Worker's final Stop when StopTimeout is zero.
const DefaultStopTimeout = 30 * time.Second

// Worker runs a service tree as a process (Python mode's Worker). Its zero value
// needs only Service; every other field has a documented default. A Worker
// runs once: a second Run returns ErrRunTwice.
type Worker struct {
	// Service is the root of the tree. Required: nil or a typed nil
	// pointer is ErrNoService.
	Service service.Service

	// LogLevel is the lowest level the Worker's logger writes: "trace",
	// "debug", "info", "warn", "error", "fatal", "panic" or "disabled"
	// (case-insensitive). Default (""): "info" (DefaultLogLevel), so the
	// routine Debug lifecycle lines are not written. Another word is
	// ErrBadConfig.
	LogLevel string
	// LogFile is the path of a file the Worker's logger appends to
	// (created if needed, closed when Run returns, except when Run
	// abandoned code, which may still write to it: after a forced exit or
	// a stop or rollback that ran out of its budget, ExitStopTimeout).
	// Default (""): stderr.
	// A file that cannot be opened is ErrBadConfig.
	//
	// The Worker's logger writes coloured text (zerolog.ConsoleWriter)
	// when its output is a terminal, and JSON lines otherwise (a file, a
	// pipe, journald). It logs the Worker's own lines and is the logger
	// of every service of the tree that has no Config.Logger (a child
	// without one uses its parent's).
	LogFile string
	// Logger, if set, is used as it is instead of the logger LogLevel and
	// LogFile describe: setting it together with either of them is
	// ErrConflictingOptions (set the level and output on the Logger).
	Logger *zerolog.Logger

	// StopTimeout bounds the final Stop of the tree: it is the deadline of
	// the root's Stop, counted from when the stop begins and shared with
	// the Extensions' StepStopping and StepStopped (which gets at least a
	// second, even past it), and every level below takes the smaller of its own
	// timeout (service.Config.StopTimeout, a supervisor child's shutdown
	// timeout) and what remains, so the whole stop returns by it even when
	// user code hangs (what it abandons is named in the error). Default
	// DefaultStopTimeout (30s, Kubernetes' default grace period); negative
	// is ErrBadConfig. The rollback of a start cancelled by a signal is
	// bounded by the root's own service.Config.StopTimeout instead; the
	// extensions' StepStopped that follows it has what remains of
	// StopTimeout counted from the signal (at least a second). A
	// root supervisor that gives up stops its children itself first, each
	// within its shutdown timeout, as OTP's do; the Worker's stop begins
	// once it has reported the crash.
	StopTimeout time.Duration
	// Signals stop the tree; a second one during the stop exits at once.
	// Default: SIGINT and SIGTERM.
	Signals []os.Signal
	// DumpSignals make the Worker write Dump to DumpTo, in every phase.
	// Default: SIGUSR1. A signal in both lists is ErrConflictingOptions.
	DumpSignals []os.Signal
	// DumpTo receives dumps and the list of what was still running at a
	// forced exit. Default: os.Stderr. It is written on a goroutine of
	// Run's, one write at a time (a dump signal that comes while the last
	// dump is still being written is skipped), so that a DumpTo that
	// blocks (a full pipe) never keeps the Worker from stopping; as it
	// returns, Run waits at most a second for a write in progress, then
	// abandons it (logged).
	DumpTo io.Writer
	// Ready, if set, is called once the tree has started (for a readiness
	// notification such as sd_notify), on Run's goroutine; signals wait
	// until it returns. A panic in Ready is a crash of the tree: it is
	// stopped and Run returns the panic (ExitFailure). If Ready ends the
	// goroutine (runtime.Goexit, as t.FailNow does in a test), the tree is
	// stopped before it ends; Run does not return.
	Ready func()
	// Extensions run beside the tree, told of each step of the run (see
	// Extension): a status page, a systemd notifier. A nil entry is
	// ErrNilExtension.
	Extensions []Extension

	ran atomic.Bool
}

// Run starts the tree and waits until ctx ends, a stop signal arrives, or
// the root's run ends on its own (a crash that no supervisor handled, or a
// normal exit); then it stops the tree, bounded by StopTimeout. It listens
// to signals in every phase:
//
//   - during the start, a stop signal (or ctx ending) cancels the start,
//     which is rolled back; one that comes as the start completes stops
//     the tree at once (Ready is not called);
//   - during the stop (or that rollback, or the extensions'
//     StepStopped), a second stop signal makes Run
//     return at once with ErrForcedExit, after writing to DumpTo what is
//     still running; the stop goes on, abandoned, on its own goroutine,
//     and the process is expected to exit (Execute's caller, Main);
//   - a dump signal writes Dump to DumpTo, in every phase, and Run goes on.
//
// The root's own Restart (called from one of its tasks, or by an admin
// endpoint) is not the end of its run, although it closes the run's Done:
// Run waits while the root restarts, listening to signals, and goes on
// with the restarted tree. A Restart that leaves the root down (its start
// failed and was rolled back, its OnRestart failed) ends the run as a
// crash: the error is the restart's (or, when it was over before Run
// could look, what it left: "a Restart left it shutdown", "... init"),
// and the code ExitFailure. A Stop of
// the root (one that aborts a Restart of it included) ends the run
// normally, as when the tree ends. A stop that runs out of StopTimeout
// waiting for a Restart of the root that hangs is a stop timeout
// (ExitStopTimeout).
//
// Once Run begins to stop the tree (or its start has failed), the root's
// own Start, MaybeStart and Restart return service.ErrStopped: nothing
// starts the tree again behind Run, which is about to return. A root
// already started elsewhere (Run's ErrAlreadyStarted) is left alone.
//
// Run returns nil after a requested stop (a start cancelled that way and
// rolled back cleanly included) or a normal exit. Otherwise it returns:
// an ErrBadConfig error before anything starts (ErrNoService,
// ErrConflictingOptions, ErrNilExtension, ErrRunTwice for a second call,
// concurrent or later); an extension's error at StepStarting
// (ExitStartFailed), the tree not started; the start's error, joined to what its rollback abandoned if it
// ran out of budget (service.ErrStopTimeout); the crash reason, wrapped
// with the root's label; the stop's error (service.ErrStopTimeout when it
// ran out of budget), joined to the crash reason if any; or ErrForcedExit.
// ExitCode maps each to its exit code.
//
// The start and the stop each run on a goroutine of Run's, joined before
// it returns (except after a forced exit). Signal handling begins when Run
// begins and ends (signal.Stop) before it returns, so once Run has
// returned, these signals have Go's default effect again: SIGINT and
// SIGTERM end the process, SIGUSR1 is ignored.
func (w *Worker) Run(ctx context.Context) (err error) {
	level, err := w.check()
	if err != nil {
		return err
	}
	if !w.ran.CompareAndSwap(false, true) {
		return ErrRunTwice
	}
	logger, closer, err := w.openLog(level)
	if err != nil {
		w.ran.Store(false) // it has not run: ErrBadConfig, nothing started
		return err
	}
	r := &runner{
		w:       w,
		log:     logger,
		root:    w.Service,
		stopSig: make(chan os.Signal, 4),
		dumpSig: make(chan os.Signal, 1),
		writing: make(chan struct{}, 1),
		ext:     extensions{list: w.Extensions, log: logger, root: w.Service},
	}
	signal.Notify(r.stopSig, w.stopSignals()...)
	signal.Notify(r.dumpSig, w.dumpSignals()...)
	defer func() { // deferred: also when Ready ends the goroutine (runtime.Goexit)
		signal.Stop(r.stopSig)
		signal.Stop(r.dumpSig)
		if !r.forced {
			r.joinDump()
		}
		// Abandoned code may still log (an abandoned hook's return is).
		if closer != nil && !r.forced && ExitCode(err) != ExitStopTimeout {
			_ = closer.Close()
		}
	}()
	return r.run(ctx)
}

// isNilPointer reports whether v holds a nil pointer (a typed nil, which
// an interface's == nil does not catch).
func isNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// check reports bad configuration before anything is opened or started,
// and returns the log level to use.
func (w *Worker) check() (zerolog.Level, error) {
	if w.Service == nil {
		return 0, ErrNoService
	}
	if isNilPointer(w.Service) {
		return 0, fmt.Errorf("%w (a nil %T)", ErrNoService, w.Service)
	}
	if w.StopTimeout < 0 {
		return 0, fmt.Errorf("%w: StopTimeout %v is negative", ErrBadConfig, w.StopTimeout)
	}
	for i, e := range w.Extensions {
		if e == nil || isNilPointer(e) {
			return 0, fmt.Errorf("%w (Extensions[%d])", ErrNilExtension, i)
		}
	}
	dump := w.dumpSignals()
	for _, s := range w.stopSignals() {
		if slices.Contains(dump, s) {
			return 0, fmt.Errorf("%w: %v is both a stop and a dump signal", ErrConflictingOptions, s)
		}
	}
	return w.checkLog()
}

func (w *Worker) stopSignals() []os.Signal {
	return orDefault(w.Signals, os.Interrupt, syscall.SIGTERM)
}

func (w *Worker) dumpSignals() []os.Signal {
	return orDefault(w.DumpSignals, syscall.SIGUSR1)
}

func (w *Worker) stopTimeout() time.Duration {
	if w.StopTimeout > 0 {
		return w.StopTimeout
	}
	return DefaultStopTimeout
}

// Execute runs the worker until it ends (Run with context.Background())
// and returns the exit code: see ExitCode and the table in the package
// doc. Use it as os.Exit(w.Execute()), or call Main.
func (w *Worker) Execute() int {
	return w.ExecuteContext(context.Background())
}

// ExecuteContext is Execute with a ctx: the tree stops when ctx ends, as
// on a stop signal. It returns ExitCode(w.Run(ctx)).
func (w *Worker) ExecuteContext(ctx context.Context) int {
	return ExitCode(w.Run(ctx))
}

// Main runs the worker and ends the process with its exit code:
// os.Exit(w.Execute()). It never returns, so deferred calls of its caller
// do not run; it is meant to be the last line of func main.
func (w *Worker) Main() {
	os.Exit(w.Execute())
}

// Dump renders the tree (service.Dump: states, restart counts, crash
// reasons, diag flags, tasks, timers, watchdogs, and each supervisor's
// strategy, restarts used and backoffs due) followed by the stacks of every
// goroutine grouped by the service they belong to (service.DumpStacks), as
// the worker writes them on a dump signal. It waits for no service, so it
// works while a start or a stop hangs.
func (w *Worker) Dump() string {
	var b strings.Builder
	b.WriteString("=== service tree ===\n")
	b.WriteString(service.Dump(w.Service))
	b.WriteString("\n=== goroutines by service ===\n")
	if err := service.DumpStacks(&b); err != nil {
		fmt.Fprintf(&b, "goroutine profile: %v\n", err)
	}
	return b.String()
}

func (w *Worker) dumpTo() io.Writer {
	if w.DumpTo == nil {
		return os.Stderr
	}
	return w.DumpTo
}

func (w *Worker) dump() {
	_, _ = io.WriteString(w.dumpTo(), w.Dump())
}

func orDefault(sigs []os.Signal, def ...os.Signal) []os.Signal {
	if len(sigs) > 0 {
		return sigs
	}
	return def
}
