package mode_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// The daemon the process tests run: this test binary, started again with
// daemonEnv naming a scenario. It prints a line at each step ("start db",
// "stop api") and when it reaches a phase ("phase: running",
// "phase: start-hang", "phase: stop-hang"), so the test signals it only
// once it is there. Dumps go to stdout, the Worker's JSON log to stderr.
const daemonEnv = "MODE_TEST_DAEMON"

// say prints one line on stdout (one write: lines do not interleave).
func say(format string, args ...any) {
	_, _ = fmt.Fprintf(os.Stdout, format+"\n", args...)
}

// step is a service of the daemon's tree; its flags say how it misbehaves.
type step struct {
	service.Base
	name      string
	failStart bool            // OnStart returns an error
	hangStart bool            // OnStart waits for its ctx to end
	hangStop  bool            // OnStop never returns
	crashOn   <-chan struct{} // a task crashes once this is closed
}

func (s *step) OnStart(ctx context.Context) error {
	say("start %s", s.name)
	switch {
	case s.failStart:
		return errors.New("no route to the database")
	case s.hangStart:
		say("phase: start-hang")
		<-ctx.Done()
		return ctx.Err()
	case s.crashOn != nil:
		return s.Go("work", func(ctx context.Context) error {
			select {
			case <-s.crashOn:
				return errors.New("boom")
			case <-ctx.Done():
				return nil
			}
		})
	}
	return nil
}

func (s *step) OnStop(context.Context) error {
	say("stop %s", s.name)
	if s.hangStop {
		say("phase: stop-hang")
		select {} // hangs, ignoring its ctx
	}
	return nil
}

// runDaemon runs scenario and returns the exit code.
func runDaemon(scenario string) int {
	ready := make(chan struct{})
	db, api := &step{name: "db"}, &step{name: "api"}
	rootCfg := service.Config{Name: "root"}
	long := supervisor.ChildSpec{ShutdownTimeout: time.Minute} // a hung stop waits for the test's signal
	switch scenario {
	case "start-hang-rollback-timeout": // the rollback of the cancelled start is bounded by the root's StopTimeout
		rootCfg.StopTimeout = 300 * time.Millisecond
	case "start-fail-rollback-timeout", "crash-stop-timeout":
		// The supervisor stops what it started (after a child's failed
		// start, or when it gives up) itself, within the child's timeout.
		rootCfg.StopTimeout, long.ShutdownTimeout = 300*time.Millisecond, 300*time.Millisecond
	}
	root := supervisor.New(supervisor.Spec{NeverRestart: true, Service: rootCfg})
	for _, s := range []*step{db, api} {
		s.Configure(service.Config{Name: s.name})
		if err := root.Add(context.Background(), s, long); err != nil {
			say("add: %v", err)
			return 98
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &mode.Worker{Service: root, DumpTo: os.Stdout, StopTimeout: 2 * time.Minute}
	w.Ready = func() {
		say("phase: running")
		close(ready)
	}
	switch scenario {
	case "run":
	case "start-hang":
		api.hangStart = true
	case "start-hang-rollback-hang":
		api.hangStart, db.hangStop = true, true
	case "stop-hang":
		db.hangStop = true
	case "ctx-stop-hang": // the stop begins without a signal
		db.hangStop = true
		w.Ready = func() { say("phase: running"); cancel() }
	case "stop-timeout":
		db.hangStop = true
		w.StopTimeout = 300 * time.Millisecond
	case "start-hang-rollback-timeout":
		api.hangStart, db.hangStop = true, true
	case "start-fail-rollback-timeout":
		api.failStart, db.hangStop = true, true
	case "crash-stop-timeout":
		api.crashOn, db.hangStop = ready, true
		w.StopTimeout = 300 * time.Millisecond
	case "crash":
		api.crashOn = ready
	case "start-fail":
		api.failStart = true
	case "no-service":
		w.Service = nil
	case "typed-nil":
		var s *step
		w.Service = s
	case "logger-and-level":
		l := zerolog.Nop()
		w.Logger, w.LogLevel = &l, "debug"
	case "bad-level":
		w.LogLevel = "verbose"
	case "after-run": // Run returns, then the process lingers
		w.Ready = func() { say("phase: running"); cancel() }
		code := w.ExecuteContext(ctx)
		say("phase: after-run (exit %d)", code)
		<-time.After(waitBound) // only a signal with its default effect ends it sooner
		return code
	case "twice":
		done, stop := context.WithCancel(context.Background())
		stop()
		say("first run: exit %d", w.ExecuteContext(done))
	default:
		say("unknown scenario %q", scenario)
		return 99
	}
	code := w.ExecuteContext(ctx)
	say("exit %d", code)
	return code
}
