package mode_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
)

// Process tests: the daemon of daemon_test.go runs as a child process; the
// test waits for the line saying it reached a phase, sends signals, and
// checks the exit code and the lines printed. Waits are bounded
// generously: they fail a hung daemon, they never pace the test.
const waitBound = 2 * time.Minute

// output collects the child's stdout and stderr (one writer for both, so
// exec copies them on one goroutine) and tells waiters when it grows.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on each write
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	close(o.changed)
	o.changed = make(chan struct{})
	return n, err
}

// look returns the output so far and a channel closed when it grows.
func (o *output) look() (string, <-chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String(), o.changed
}

// daemon is a running child process.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *output
	exited chan struct{} // closed when cmd.Wait has returned
	err    error         // cmd.Wait's error, set before exited is closed
}

func startDaemon(t *testing.T, scenario string) *daemon {
	t.Helper()
	d := &daemon{t: t, out: &output{changed: make(chan struct{})}, exited: make(chan struct{})}
	d.cmd = exec.Command(os.Args[0], "-test.run=^$")
	// A race-enabled binary sleeps a second at exit unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	d.cmd.Env = append(os.Environ(), daemonEnv+"="+scenario, "GORACE="+gorace)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		d.err = d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	})
	return d
}

// waitFor waits until the output holds want after position from, and
// returns the position just past it.
func (d *daemon) waitFor(want string, from int) int {
	d.t.Helper()
	timeout := time.NewTimer(waitBound)
	defer timeout.Stop()
	for {
		s, changed := d.out.look()
		if i := strings.Index(s[from:], want); i >= 0 {
			return from + i + len(want)
		}
		select {
		case <-changed:
		case <-d.exited:
			if s, _ := d.out.look(); strings.Contains(s[from:], want) {
				continue
			}
			d.t.Fatalf("daemon exited (%v) without printing %q; output:\n%s", d.err, want, s)
		case <-timeout.C:
			d.t.Fatalf("no %q within %v; output:\n%s", want, waitBound, s)
		}
	}
}

// exitCode waits for the daemon to exit and returns its exit code.
func (d *daemon) exitCode() int {
	d.t.Helper()
	select {
	case <-d.exited:
	case <-time.After(waitBound):
		s, _ := d.out.look()
		d.t.Fatalf("daemon did not exit within %v; output:\n%s", waitBound, s)
	}
	var ee *exec.ExitError
	if errors.As(d.err, &ee) {
		return ee.ExitCode()
	}
	if d.err != nil {
		d.t.Fatalf("wait: %v", d.err)
	}
	return 0
}

// act is one step of a process test: wait for a line (after the previous
// one), or send a signal.
type act struct {
	wait string
	sig  syscall.Signal
}

func waitLine(s string) act       { return act{wait: s} }
func send(sig syscall.Signal) act { return act{sig: sig} }
func sigterm() act                { return send(syscall.SIGTERM) }
func dumpAndWait(mark string) []act {
	return []act{send(syscall.SIGUSR1), waitLine("=== service tree ==="), waitLine(mark)}
}

// storm sends n dump signals back to back, then waits for a dump.
func storm(n int) []act {
	acts := make([]act, 0, n+1)
	for range n {
		acts = append(acts, send(syscall.SIGUSR1))
	}
	return append(acts, waitLine("=== service tree ==="))
}

// Log lines the Worker writes (JSON on stderr) that the tests wait for.
const (
	logStartCancel = "signal during the start: cancelling the start"
	logStopping    = "signal: stopping"
	logAlready     = "signal during the stop: already stopping"
)

func TestProcessSignalsAndExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, tc := range []struct {
		name     string
		scenario string
		acts     []act
		code     int
		want     []string    // printed (anywhere)
		not      []string    // never printed
		order    [][2]string // first printed before second
	}{
		// Phase: running.
		{name: "running/SIGTERM", scenario: "run",
			acts: []act{waitLine("phase: running"), sigterm()}, code: mode.ExitOK,
			want: []string{logStopping}, order: [][2]string{{"start db", "start api"}, {"stop api", "stop db"}}},
		{name: "running/SIGINT", scenario: "run",
			acts: []act{waitLine("phase: running"), send(syscall.SIGINT)}, code: mode.ExitOK,
			order: [][2]string{{"stop api", "stop db"}}},
		{name: "running/SIGUSR1", scenario: "run",
			acts: append(append([]act{waitLine("phase: running")}, dumpAndWait("(api) [running]")...),
				waitLine("=== goroutines by service ==="), waitLine("== service "), sigterm()),
			code: mode.ExitOK, order: [][2]string{{"stop api", "stop db"}}},
		{name: "running/SIGUSR1 storm", scenario: "run",
			acts: append(append([]act{waitLine("phase: running")}, storm(100)...), sigterm()), code: mode.ExitOK,
			order: [][2]string{{"stop api", "stop db"}, {"stop db", "exit 0"}}},
		{name: "start-hang/SIGUSR1 storm", scenario: "start-hang",
			acts: append(append([]act{waitLine("phase: start-hang")}, storm(100)...), sigterm()), code: mode.ExitOK,
			want: []string{logStartCancel, "stop db"}},
		{name: "stop-hang/SIGUSR1 storm, then a second SIGTERM", scenario: "stop-hang",
			acts: append(append([]act{waitLine("phase: running"), sigterm(), waitLine("phase: stop-hang")}, storm(100)...), sigterm()),
			code: mode.ExitForced, want: []string{"=== forced exit on terminated"}},
		// Phase: start hanging (api's OnStart waits for its ctx).
		{name: "start-hang/SIGTERM", scenario: "start-hang",
			acts: []act{waitLine("phase: start-hang"), sigterm()}, code: mode.ExitOK,
			want: []string{logStartCancel, "stop db"}, not: []string{"stop api", "phase: running"}},
		{name: "start-hang/SIGINT", scenario: "start-hang",
			acts: []act{waitLine("phase: start-hang"), send(syscall.SIGINT)}, code: mode.ExitOK,
			want: []string{"stop db"}, not: []string{"stop api"}},
		{name: "start-hang/SIGUSR1", scenario: "start-hang",
			acts: append(append([]act{waitLine("phase: start-hang")}, dumpAndWait("(api) [starting]")...), sigterm()),
			code: mode.ExitOK, want: []string{"stop db"}},
		{name: "start-hang/second SIGTERM during the rollback", scenario: "start-hang-rollback-hang",
			acts: []act{waitLine("phase: start-hang"), sigterm(), waitLine("phase: stop-hang"), sigterm()},
			code: mode.ExitForced, want: []string{"=== forced exit on terminated: start abandoned; still running:", "(db) [stopping]"}},
		{name: "start-hang/SIGUSR1 during the rollback", scenario: "start-hang-rollback-hang",
			acts: append(append([]act{waitLine("phase: start-hang"), sigterm(), waitLine("phase: stop-hang")},
				dumpAndWait("(db) [stopping]")...), send(syscall.SIGINT)),
			code: mode.ExitForced},
		// Phase: stop hanging (db's OnStop never returns).
		{name: "stop-hang/second SIGTERM", scenario: "stop-hang",
			acts: []act{waitLine("phase: running"), sigterm(), waitLine("phase: stop-hang"), sigterm()},
			code: mode.ExitForced,
			want: []string{"=== forced exit on terminated: stop abandoned; still running:", "(db) [stopping]", mode.ErrForcedExit.Error()},
			not:  []string{"exit 0"}, order: [][2]string{{"stop api", "stop db"}}},
		{name: "stop-hang/SIGINT after SIGTERM", scenario: "stop-hang",
			acts: []act{waitLine("phase: running"), sigterm(), waitLine("phase: stop-hang"), send(syscall.SIGINT)},
			code: mode.ExitForced, want: []string{"forced exit on interrupt"}},
		{name: "stop-hang/SIGUSR1", scenario: "stop-hang",
			acts: append(append([]act{waitLine("phase: running"), sigterm(), waitLine("phase: stop-hang")},
				dumpAndWait("(db) [stopping]")...), sigterm()),
			code: mode.ExitForced},
		{name: "stop-hang begun by ctx/first SIGTERM waits, second exits", scenario: "ctx-stop-hang",
			acts: []act{waitLine("phase: stop-hang"), sigterm(), waitLine(logAlready), sigterm()},
			code: mode.ExitForced, want: []string{"still running:"}},
		// The exit-code table, without signals where none is needed.
		{name: "code/stop timeout", scenario: "stop-timeout",
			acts: []act{waitLine("phase: running"), sigterm()}, code: mode.ExitStopTimeout,
			want: []string{"stop did not finish within its budget", "exit 80"}},
		{name: "code/crash whose stop times out", scenario: "crash-stop-timeout", code: mode.ExitStopTimeout,
			want: []string{"tree crashed: stopping", "boom", "stop did not finish within its budget", "exit 80"}},
		{name: "code/cancelled start whose rollback times out", scenario: "start-hang-rollback-timeout",
			acts: []act{waitLine("phase: start-hang"), sigterm()}, code: mode.ExitStopTimeout,
			want: []string{logStartCancel, "phase: stop-hang", "did not return", "exit 80"}},
		{name: "code/failed start whose rollback times out", scenario: "start-fail-rollback-timeout", code: mode.ExitStopTimeout,
			want: []string{"no route to the database", "phase: stop-hang", "did not return", "exit 80"}},
		{name: "code/crash", scenario: "crash", code: mode.ExitFailure,
			want: []string{"tree crashed: stopping", "boom", "exit 1"}, order: [][2]string{{"phase: running", "stop db"}}},
		{name: "code/start failed", scenario: "start-fail", code: mode.ExitStartFailed,
			want: []string{"start failed", "no route to the database", "stop db"}, not: []string{"phase: running"}},
		{name: "code/no service", scenario: "no-service", code: mode.ExitBadConfig, not: []string{"start db"}},
		{name: "code/typed nil service", scenario: "typed-nil", code: mode.ExitBadConfig, not: []string{"start db"}},
		{name: "code/Logger with LogLevel", scenario: "logger-and-level", code: mode.ExitBadConfig, not: []string{"start db"}},
		{name: "code/bad log level", scenario: "bad-level", code: mode.ExitBadConfig, not: []string{"start db"}},
		{name: "code/Execute twice", scenario: "twice", code: mode.ExitBadConfig, want: []string{"first run: exit 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, tc.scenario)
			at := 0
			for _, a := range tc.acts {
				if a.wait != "" {
					at = d.waitFor(a.wait, at)
					continue
				}
				if err := d.cmd.Process.Signal(a.sig); err != nil {
					t.Fatalf("signal %v: %v", a.sig, err)
				}
			}
			code := d.exitCode()
			out, _ := d.out.look()
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; output:\n%s", code, tc.code, out)
			}
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q", s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(out, s) {
					t.Errorf("output has %q", s)
				}
			}
			for _, o := range tc.order {
				i, j := strings.Index(out, o[0]), strings.Index(out, o[1])
				if i < 0 || j < 0 || i > j {
					t.Errorf("want %q before %q", o[0], o[1])
				}
			}
			if t.Failed() {
				t.Logf("output:\n%s", out)
			}
		})
	}
}

// Once Run has returned, the signals it handled have Go's default effect
// again: SIGINT and SIGTERM end the process, SIGUSR1 is ignored (no dump).
func TestProcessSignalsAfterRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, tc := range []struct {
		sigs   []syscall.Signal
		killer syscall.Signal
	}{
		{[]syscall.Signal{syscall.SIGTERM}, syscall.SIGTERM},
		{[]syscall.Signal{syscall.SIGINT}, syscall.SIGINT},
		{[]syscall.Signal{syscall.SIGUSR1, syscall.SIGTERM}, syscall.SIGTERM},
	} {
		t.Run(tc.sigs[0].String(), func(t *testing.T) {
			t.Parallel()
			d := startDaemon(t, "after-run")
			d.waitFor("phase: after-run (exit 0)", 0)
			for _, sig := range tc.sigs {
				if err := d.cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			d.exitCode()
			out, _ := d.out.look()
			if strings.Contains(out, "=== service tree ===") {
				t.Fatalf("a dump after Run returned:\n%s", out)
			}
			sig := tc.killer
			ws, ok := d.cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != sig {
				t.Fatalf("process ended with %v, want killed by %v; output:\n%s", d.cmd.ProcessState, sig, out)
			}
		})
	}
}
