package mode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// Exit codes returned by Worker.Execute.
const (
	// ExitOK: the tree stopped on request (signal, ctx) or ended normally.
	ExitOK = 0
	// ExitFailure: the start failed, the tree crashed (no supervisor above
	// the crash, or the top supervisor gave up), or the stop did not
	// finish cleanly.
	ExitFailure = 1
)

// DefaultStopTimeout bounds the Worker's final Stop when StopTimeout is zero.
const DefaultStopTimeout = 30 * time.Second

// Worker runs a service tree as a process (mode's Worker). Its zero value
// needs only Service; every other field has a documented default.
type Worker struct {
	// Service is the root of the tree. Required.
	Service service.Service
	// Logger receives the Worker's own lines. Default: zerolog's global
	// logger.
	Logger *zerolog.Logger
	// StopTimeout bounds the final Stop of the tree: it is the deadline of
	// the root's Stop, and every level below takes the smaller of its own
	// timeout (service.Config.StopTimeout, a supervisor child's shutdown
	// timeout) and what remains, so the whole stop returns by it even when
	// user code hangs (what it abandons is named in the error). Default
	// DefaultStopTimeout (30s, Kubernetes' default grace period).
	StopTimeout time.Duration
	// Signals stop the tree. Default: SIGINT and SIGTERM.
	Signals []os.Signal
	// DumpSignals make the Worker write Dump to DumpTo. Default: SIGUSR1.
	DumpSignals []os.Signal
	// DumpTo receives dumps. Default: os.Stderr.
	DumpTo io.Writer
	// Ready, if set, is called once the tree has started (for a readiness
	// notification such as sd_notify), on Run's goroutine.
	Ready func()
}

// ErrNoService is returned by Run when Worker.Service is nil.
var ErrNoService = errors.New("mode: Worker has no Service")

// Run starts the tree (a stop signal during the start cancels it: the
// start is rolled back and its error returned) and waits until ctx ends, a stop signal arrives, or
// the root's run ends on its own (a crash that no supervisor handled, or a
// normal exit); then it stops the tree, bounded by StopTimeout. It returns
// nil after a requested stop or a normal exit, else an error: the start's,
// the crash reason (wrapped), or the stop's. On each dump signal it writes
// Dump and goes on. Run starts no goroutine of its own besides the tree's;
// signal handlers are removed before it returns.
func (w *Worker) Run(ctx context.Context) error {
	if w.Service == nil {
		return ErrNoService
	}
	logger := w.Logger
	if logger == nil {
		logger = &log.Logger
	}
	stopSig := make(chan os.Signal, 1)
	dumpSig := make(chan os.Signal, 1)
	signal.Notify(stopSig, orDefault(w.Signals, os.Interrupt, syscall.SIGTERM)...)
	signal.Notify(dumpSig, orDefault(w.DumpSignals, syscall.SIGUSR1)...)
	defer signal.Stop(stopSig)
	defer signal.Stop(dumpSig)

	root := w.Service
	if err := w.start(ctx, root, stopSig, logger); err != nil {
		logger.Error().Err(err).Msg("start failed")
		return err
	}
	logger.Info().Str("service", root.ShortLabel()).Msg("worker started")
	if w.Ready != nil {
		w.Ready()
	}
	var why error
wait:
	for {
		select {
		case <-ctx.Done():
			logger.Info().Msg("context done: stopping")
			break wait
		case sig := <-stopSig:
			logger.Info().Str("signal", sig.String()).Msg("signal: stopping")
			break wait
		case <-dumpSig:
			w.dump()
		case <-root.Done():
			if why = root.CrashReason(); why != nil {
				logger.Error().Err(why).Msg("tree crashed: stopping")
				why = fmt.Errorf("%s crashed: %w", root.ShortLabel(), why)
			}
			break wait
		}
	}
	d := w.StopTimeout
	if d <= 0 {
		d = DefaultStopTimeout
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	if err := root.Stop(stopCtx); err != nil {
		logger.Error().Err(err).Msg("stop did not finish cleanly")
		why = errors.Join(why, err)
	}
	logger.Info().Msg("worker stopped")
	return why
}

// start starts root under a ctx that a stop signal cancels: a start
// waiting on a slow dependency ends (and rolls back) on SIGTERM. The
// goroutine watching for the signal is joined before it returns.
func (w *Worker) start(ctx context.Context, root service.Service, stopSig <-chan os.Signal, logger *zerolog.Logger) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case sig := <-stopSig:
			logger.Info().Str("signal", sig.String()).Msg("signal during start: cancelling the start")
			cancel()
		case <-started:
		}
	})
	err := service.Start(sctx, root)
	close(started)
	wg.Wait()
	return err
}

// Execute runs the worker until it ends and returns the exit code: ExitOK
// or ExitFailure. Use it as os.Exit(w.Execute()).
func (w *Worker) Execute() int {
	if err := w.Run(context.Background()); err != nil {
		return ExitFailure
	}
	return ExitOK
}

// Dump renders the tree (service.Dump) followed by the stacks of every
// goroutine, as the worker writes them on a dump signal.
func (w *Worker) Dump() string {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return "=== service tree ===\n" + service.Dump(w.Service) + "\n=== goroutines ===\n" + string(buf)
}

func (w *Worker) dump() {
	out := w.DumpTo
	if out == nil {
		out = os.Stderr
	}
	_, _ = io.WriteString(out, w.Dump())
}

func orDefault(sigs []os.Signal, def ...os.Signal) []os.Signal {
	if len(sigs) > 0 {
		return sigs
	}
	return def
}
