package observe_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// Hostile cases of Systemd: a misconfigured environment, crash storms, slow
// stops, hung health checks, several runs. The harness is in systemd_test.go.

// TestSystemdMisconfigured: what goes wrong with the environment or the
// socket, and what the run makes of it.
func TestSystemdMisconfigured(t *testing.T) {
	cases := []struct {
		name     string
		env      func(t *testing.T, sd *notifySocket)
		wantCode int      // Run's exit code
		wantRecv []string // datagrams received over the run
		wantLog  []string // in the Worker's log
	}{
		{
			name:     "WATCHDOG_USEC not a number",
			env:      func(t *testing.T, _ *notifySocket) { t.Setenv("WATCHDOG_USEC", "soon") },
			wantCode: mode.ExitStartFailed,
			wantLog:  []string{"observe: systemd watchdog: error converting WATCHDOG_USEC"},
		},
		{
			name:     "WATCHDOG_USEC negative",
			env:      func(t *testing.T, _ *notifySocket) { t.Setenv("WATCHDOG_USEC", "-5") },
			wantCode: mode.ExitStartFailed,
			wantLog:  []string{"WATCHDOG_USEC must be a positive number"},
		},
		{
			name:     "WATCHDOG_PID another process's: no watchdog",
			env:      func(t *testing.T, _ *notifySocket) { t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1)) },
			wantRecv: []string{"READY=1\nSTATUS=1/1 services running, 0 restarts", "STOPPING=1\nSTATUS=stopping: 1/1 services running, 0 restarts"},
		},
		{
			name:     "no WATCHDOG_USEC: no watchdog",
			env:      func(t *testing.T, _ *notifySocket) { t.Setenv("WATCHDOG_USEC", "") },
			wantRecv: []string{"READY=1\nSTATUS=1/1 services running, 0 restarts", "STOPPING=1\nSTATUS=stopping: 1/1 services running, 0 restarts"},
		},
		{
			name: "nothing listens on NOTIFY_SOCKET: logged, the run goes on",
			env: func(t *testing.T, sd *notifySocket) {
				t.Setenv("NOTIFY_SOCKET", filepath.Join(filepath.Dir(sd.path), "nobody"))
			},
			wantLog: []string{
				`extension *observe.Systemd failed at step running`, `observe: sd_notify READY=1: dial unixgram`,
				`systemd notification failed`, // the loop's pings: logged once
				`extension *observe.Systemd failed at step stopping`, `observe: sd_notify STOPPING=1`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sd := listenNotify(t, 2*time.Second)
			tc.env(t, sd)
			synctest.Test(t, func(t *testing.T) {
				sd.t = t
				var logs syncBuffer
				log := zerolog.New(&logs)
				stop, result := runWorker(t, newProber(), &log, &observe.Systemd{})
				time.Sleep(10 * time.Second)
				stop()
				if code := mode.ExitCode(<-result); code != tc.wantCode {
					t.Errorf("exit code %d, want %d", code, tc.wantCode)
				}
				sd.expect("over the run", tc.wantRecv...)
				for _, want := range tc.wantLog {
					if !strings.Contains(logs.String(), want) {
						t.Errorf("log without %q:\n%s", want, logs.String())
					}
				}
				if n := strings.Count(logs.String(), "systemd notification failed"); n > 1 {
					t.Errorf("the loop's failure logged %d times, want at most once", n)
				}
			})
		})
	}
}

// TestSystemdCrashStorm: a child crashing every 10ms for 3s makes at most
// two STATUS= a second (one a second, one with each ping), the last one with every restart counted, and the
// watchdog keeps being pinged (the root is healthy: its supervisor
// restarts the child).
func TestSystemdCrashStorm(t *testing.T) {
	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		root, c := newTree(t)
		stop, result := runWorker(t, root, nil, &observe.Systemd{})
		synctest.Wait()
		sd.expect("started", "READY=1\nSTATUS=2/2 services running, 0 restarts")
		var got []string
		for range 300 {
			time.Sleep(10 * time.Millisecond)
			c.crash <- struct{}{}
			synctest.Wait()
			got = append(got, sd.read()...)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		got = append(got, sd.read()...)
		status, pings := 0, 0
		for _, m := range got {
			status += strings.Count(m, "STATUS=")
			pings += strings.Count(m, "WATCHDOG=1")
		}
		// One update a second, and one with each ping when it changed.
		if status < 3 || status > 8 {
			t.Errorf("%d STATUS= over 4s of a crash storm, want 3 to 8: %q", status, got)
		}
		if pings != 4 {
			t.Errorf("%d pings in 4s, want 4: %q", pings, got)
		}
		last := ""
		for _, m := range got {
			if _, st, ok := strings.Cut(m, "STATUS="); ok {
				last = st
			}
		}
		if want := "2/2 services running, 300 restarts; last crash: flaky: lost connection"; last != want {
			t.Errorf("last STATUS=%q, want %q", last, want)
		}
		stop()
		if err := <-result; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// slowStop takes 3s to stop.
type slowStop struct{ service.Base }

func (s *slowStop) OnStop(ctx context.Context) error {
	select {
	case <-time.After(3 * time.Second):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestSystemdSlowStop: during a stop of 3s, no ping (systemd's watchdog is
// off once STOPPING=1 is sent) and STATUS= follows the stop.
func TestSystemdSlowStop(t *testing.T) {
	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		root, _ := newTree(t)
		slow := &slowStop{}
		l := zerolog.Nop()
		slow.Configure(service.Config{Name: "slow", Logger: &l})
		if err := root.Add(context.Background(), slow); err != nil {
			t.Fatal(err)
		}
		// Healthy even while stopping: still no ping after STOPPING=1.
		always := func(context.Context, service.Service) error { return nil }
		stop, result := runWorker(t, root, nil, &observe.Systemd{Healthy: always})
		synctest.Wait()
		sd.expect("started", "READY=1\nSTATUS=3/3 services running, 0 restarts")
		time.Sleep(500 * time.Millisecond)
		stop()
		synctest.Wait()
		sd.expect("stop begun", "STOPPING=1\nSTATUS=stopping: 3/3 services running, 0 restarts")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		sd.expect("during the stop", "STATUS=stopping: 1/3 services running, 0 restarts")
		if err := <-result; err != nil {
			t.Fatalf("Run: %v", err)
		}
		sd.expect("stopped")
	})
}

// ignoring is a Healthy that ignores its ctx while hung: it returns when
// released.
type ignoring struct {
	hung    atomic.Bool
	release chan struct{}
}

func (h *ignoring) healthy(ctx context.Context, _ service.Service) error {
	if h.hung.Load() {
		<-h.release
	}
	return nil
}

// TestSystemdHealthyIgnoresCtx: a Healthy that hangs, ignoring its ctx,
// stops the pings (as a hung process should); the stop is not held up by
// it beyond the Worker's StopTimeout (StepStopped says so in the log), and
// the loop ends once the check returns.
func TestSystemdHealthyIgnoresCtx(t *testing.T) {
	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		h := &ignoring{release: make(chan struct{})}
		var logs syncBuffer
		log := zerolog.New(&logs)
		ctx, cancel := context.WithCancel(t.Context())
		w := &mode.Worker{Service: newProber(), Logger: &log, StopTimeout: 5 * time.Second,
			Extensions: []mode.Extension{&observe.Systemd{Healthy: h.healthy}}}
		result := make(chan error, 1)
		go func() { result <- w.Run(ctx) }()
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		sd.expect("a healthy tick", "READY=1\nSTATUS=1/1 services running, 0 restarts", "WATCHDOG=1")
		h.hung.Store(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		sd.expect("hung")
		began := time.Now()
		cancel()
		if err := <-result; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if took := time.Since(began); took != 5*time.Second {
			t.Errorf("Run took %v to return after its ctx ended, want the StopTimeout (5s)", took)
		}
		sd.expect("stopped", "STOPPING=1\nSTATUS=stopping: 1/1 services running, 0 restarts")
		if want := "observe.Systemd: the watchdog's health check did not return"; !strings.Contains(logs.String(), want) {
			t.Errorf("log without %q:\n%s", want, logs.String())
		}
		close(h.release) // the loop, left behind, ends
		synctest.Wait()
		sd.expect("released")
	})
}

// TestSystemdRuns: a Systemd serves one run at a time, and runs one after
// the other; a start that fails sends nothing and leaves nothing running.
func TestSystemdRuns(t *testing.T) {
	listenNotify(t, 2*time.Second)
	nop := zerolog.Nop()
	ext := &observe.Systemd{}
	root := newProber()
	ctx := context.Background()
	if err := ext.WorkerPhase(ctx, mode.Phase{Step: mode.StepStarting, Root: root, Log: &nop}); err != nil {
		t.Fatal(err)
	}
	if err := ext.WorkerPhase(ctx, mode.Phase{Step: mode.StepStarting, Root: newProber(), Log: &nop}); !errors.Is(err, observe.ErrSystemdInUse) {
		t.Errorf("a second StepStarting: %v, want ErrSystemdInUse", err)
	}
	if err := ext.WorkerPhase(ctx, mode.Phase{Step: mode.StepStopped, Root: root, Log: &nop}); err != nil {
		t.Fatal(err)
	}

	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		for i := range 2 {
			stop, result := runWorker(t, newProber(), nil, ext)
			synctest.Wait()
			sd.expect("run "+strconv.Itoa(i), "READY=1\nSTATUS=1/1 services running, 0 restarts")
			stop()
			if err := <-result; err != nil {
				t.Fatalf("Run: %v", err)
			}
			sd.expect("run "+strconv.Itoa(i)+" stopped", "STOPPING=1\nSTATUS=stopping: 1/1 services running, 0 restarts")
		}

		f := &failsToStart{}
		f.Configure(service.Config{Name: "failing", Logger: &nop})
		_, result := runWorker(t, f, nil, ext)
		if code := mode.ExitCode(<-result); code != mode.ExitStartFailed {
			t.Errorf("exit code %d, want ExitStartFailed", code)
		}
		sd.expect("a failed start")
	})
}

// failsToStart is a root whose start fails.
type failsToStart struct{ service.Base }

func (f *failsToStart) OnStart(context.Context) error { return errors.New("no config") }

// TestSystemdRootCrash: a crash that reaches the root stops the run;
// STOPPING=1 comes with the crash in STATUS=, and the pings end.
func TestSystemdRootCrash(t *testing.T) {
	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		boom := make(chan struct{})
		root := service.Func("solo", func(ctx context.Context) error {
			select {
			case <-ctx.Done():
				return nil
			case <-boom:
				return errors.New("out of memory\nstack...")
			}
		})
		_, result := runWorker(t, root, nil, &observe.Systemd{})
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		sd.expect("started", "READY=1\nSTATUS=1/1 services running, 0 restarts", "WATCHDOG=1")
		close(boom)
		if code := mode.ExitCode(<-result); code != mode.ExitFailure {
			t.Errorf("exit code %d, want ExitFailure", code)
		}
		got := sd.read()
		if len(got) != 1 || !strings.HasPrefix(got[0], "STOPPING=1\nSTATUS=stopping: the tree crashed: ") ||
			!strings.Contains(got[0], "out of memory; 0/1 services running, 0 restarts") {
			t.Errorf("at the crash: received %q, want STOPPING=1 with the crash", got)
		}
		time.Sleep(10 * time.Second)
		sd.expect("after the run")
	})
}

// TestSystemdSecondWorker: a second Worker given the Systemd of a running
// one fails to start (ErrSystemdInUse) and leaves the first run alone.
func TestSystemdSecondWorker(t *testing.T) {
	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		ext := &observe.Systemd{}
		stop, result := runWorker(t, newProber(), nil, ext)
		synctest.Wait()
		sd.expect("first started", "READY=1\nSTATUS=1/1 services running, 0 restarts")

		_, second := runWorker(t, newProber(), nil, ext)
		err := <-second
		if !errors.Is(err, observe.ErrSystemdInUse) || mode.ExitCode(err) != mode.ExitStartFailed {
			t.Errorf("second Run: %v (exit code %d), want ErrSystemdInUse, ExitStartFailed", err, mode.ExitCode(err))
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		sd.expect("first still pinging", "WATCHDOG=1")
		stop()
		if err := <-result; err != nil {
			t.Fatalf("Run: %v", err)
		}
		sd.expect("first stopped", "STOPPING=1\nSTATUS=stopping: 1/1 services running, 0 restarts")
	})
}
