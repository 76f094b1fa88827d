package observe_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// The tests of this file set NOTIFY_SOCKET and WATCHDOG_USEC with
// t.Setenv: none of them is parallel.

// notifySocket is the systemd side of sd_notify: a unixgram socket the
// test listens on.
type notifySocket struct {
	t    *testing.T
	conn *net.UnixConn
	path string
}

// listenNotify listens on a fresh unixgram socket and points NOTIFY_SOCKET
// at it; watchdog, if not zero, sets WATCHDOG_USEC (and WATCHDOG_PID to
// this process). Call it outside a synctest bubble.
func listenNotify(t *testing.T, watchdog time.Duration) *notifySocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "sd") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	if watchdog > 0 {
		t.Setenv("WATCHDOG_USEC", strconv.FormatInt(watchdog.Microseconds(), 10))
		t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	}
	warmSignals()
	return &notifySocket{t: t, conn: conn, path: path}
}

// read returns the datagrams waiting, without waiting for more. Linux
// queues at most net.unix.max_dgram_qlen (10) datagrams before the sender
// blocks: read often.
func (n *notifySocket) read() []string {
	n.t.Helper()
	rc, err := n.conn.SyscallConn()
	if err != nil {
		n.t.Fatal(err)
	}
	var got []string
	var rerr error
	buf := make([]byte, 4096)
	err = rc.Read(func(fd uintptr) bool {
		for {
			k, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			if err == syscall.EAGAIN || err == syscall.EWOULDBLOCK {
				return true
			}
			if err != nil {
				rerr = err
				return true
			}
			got = append(got, string(buf[:k]))
		}
	})
	if err != nil || rerr != nil {
		n.t.Fatal(err, rerr)
	}
	return got
}

// expect reads the datagrams waiting and compares them with want.
func (n *notifySocket) expect(when string, want ...string) {
	n.t.Helper()
	got := n.read()
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		n.t.Errorf("%s: received %q, want %q", when, got, want)
	}
}

// warmSignals starts os/signal's watcher goroutine outside any synctest
// bubble: started inside one (by the Worker's signal.Notify), it would
// belong to it and keep it from ever being idle.
var warmSignals = sync.OnceFunc(func() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGUSR2)
	signal.Stop(c)
})

// runWorker runs a Worker with ext over root on a goroutine, with a quiet
// logger (or log), and returns its stop and its result.
func runWorker(t *testing.T, root service.Service, log *zerolog.Logger, ext ...mode.Extension) (stop func(), result <-chan error) {
	t.Helper()
	if log == nil {
		l := zerolog.Nop()
		log = &l
	}
	ctx, cancel := context.WithCancel(t.Context())
	w := &mode.Worker{Service: root, Logger: log, Extensions: ext}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return cancel, done
}

// crasher is a supervisor's child that crashes each time it is told to.
type crasher struct {
	crash chan struct{}
}

func (c *crasher) service() service.Service {
	return service.Func("flaky", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			return nil
		case <-c.crash:
			return errors.New("lost connection\nsecond line not shown")
		}
	})
}

func newTree(t *testing.T) (*supervisor.Supervisor, *crasher) {
	t.Helper()
	l := zerolog.Nop()
	root := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "root", Logger: &l},
		Strategy:    strategy.OneForOne,
		MaxRestarts: 1000,
		Window:      time.Second,
	})
	c := &crasher{crash: make(chan struct{})}
	if err := root.Add(context.Background(), c.service()); err != nil {
		t.Fatal(err)
	}
	return root, c
}

// TestSystemdNotifications follows a run under systemd with a watchdog of
// 2s: READY=1 with the counts, a ping each second, STATUS= after a crash
// and its restart, STOPPING=1 at the stop and no ping after it.
func TestSystemdNotifications(t *testing.T) {
	sd := listenNotify(t, 2*time.Second)
	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		root, c := newTree(t)
		stop, result := runWorker(t, root, nil, &observe.Systemd{})
		synctest.Wait()
		sd.expect("started", "READY=1\nSTATUS=2/2 services running, 0 restarts")

		time.Sleep(500 * time.Millisecond) // between ticks from now on
		synctest.Wait()
		sd.expect("half a period")
		for i := range 3 {
			time.Sleep(time.Second)
			synctest.Wait()
			sd.expect("tick "+strconv.Itoa(i), "WATCHDOG=1")
		}

		c.crash <- struct{}{} // at 3.5s
		synctest.Wait()
		sd.expect("crash and restart")
		time.Sleep(time.Second) // the tick at 4s: the update after the crash is due at 4.5s
		synctest.Wait()
		sd.expect("tick after the crash", "WATCHDOG=1\nSTATUS=2/2 services running, 1 restarts; last crash: flaky: lost connection")

		stop()
		if err := <-result; err != nil {
			t.Fatalf("Run: %v", err)
		}
		got := sd.read()
		if len(got) == 0 || !strings.HasPrefix(got[0], "STOPPING=1\nSTATUS=stopping: ") {
			t.Fatalf("at the stop: received %q, want STOPPING=1 first", got)
		}
		for _, m := range got {
			if strings.Contains(m, "WATCHDOG=1") {
				t.Errorf("a ping after STOPPING=1: %q", got)
			}
		}
		time.Sleep(10 * time.Second)
		sd.expect("after the run")
	})
}

// prober is a root whose Healthcheck hangs (until its ctx ends) while
// hang is set.
type prober struct {
	service.Base
	hang atomic.Bool
}

func (p *prober) OnStart(context.Context) error { return nil }

func (p *prober) Healthcheck(ctx context.Context) error {
	if p.hang.Load() {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

func newProber() *prober {
	l := zerolog.Nop()
	p := &prober{}
	p.Configure(service.Config{Name: "prober", Logger: &l})
	return p
}

// TestSystemdWatchdogOnlyWhileHealthy: the pings stop while the tree is
// unhealthy (STATUS= says why) and resume once it is healthy again, for
// each way of being unhealthy.
func TestSystemdWatchdogOnlyWhileHealthy(t *testing.T) {
	cases := []struct {
		name string
		// sick makes the tree unhealthy (heal undoes it) for an extension
		// it may configure.
		setup      func(sd *observe.Systemd, root *prober) (sick, heal func())
		wantStatus string // in the STATUS= of the first unhealthy tick, after why
	}{
		{
			name: "Healthy returns an error",
			setup: func(sd *observe.Systemd, _ *prober) (func(), func()) {
				var bad atomic.Bool
				sd.Healthy = func(ctx context.Context, root service.Service) error {
					if bad.Load() {
						return errors.New("database unreachable")
					}
					return nil
				}
				return func() { bad.Store(true) }, func() { bad.Store(false) }
			},
			wantStatus: "database unreachable",
		},
		{
			name: "Healthy panics",
			setup: func(sd *observe.Systemd, _ *prober) (func(), func()) {
				var bad atomic.Bool
				sd.Healthy = func(ctx context.Context, root service.Service) error {
					if bad.Load() {
						panic("probe bug")
					}
					return nil
				}
				return func() { bad.Store(true) }, func() { bad.Store(false) }
			},
			wantStatus: "panic: probe bug",
		},
		{
			name: "Healthy sees its deadline pass (hangs until ctx ends)",
			setup: func(sd *observe.Systemd, _ *prober) (func(), func()) {
				var bad atomic.Bool
				sd.Healthy = func(ctx context.Context, root service.Service) error {
					dl, ok := ctx.Deadline()
					if !ok || time.Until(dl) != 500*time.Millisecond {
						return errors.New("want a deadline of a quarter of WATCHDOG_USEC")
					}
					if bad.Load() {
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				}
				return func() { bad.Store(true) }, func() { bad.Store(false) }
			},
			wantStatus: "context deadline exceeded",
		},
		{
			name: "the root's Healthcheck hangs (default Healthy)",
			setup: func(_ *observe.Systemd, root *prober) (func(), func()) {
				return func() { root.hang.Store(true) }, func() { root.hang.Store(false) }
			},
			wantStatus: "prober",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sd := listenNotify(t, 2*time.Second)
			synctest.Test(t, func(t *testing.T) {
				sd.t = t
				root := newProber()
				ext := &observe.Systemd{}
				sick, heal := tc.setup(ext, root)
				stop, result := runWorker(t, root, nil, ext)
				synctest.Wait()
				sd.expect("started", "READY=1\nSTATUS=1/1 services running, 0 restarts")
				time.Sleep(1500 * time.Millisecond)
				synctest.Wait()
				sd.expect("healthy tick", "WATCHDOG=1")

				sick()
				time.Sleep(time.Second)
				synctest.Wait()
				got := sd.read()
				if len(got) != 1 || !strings.HasPrefix(got[0], "STATUS=1/1 services running, 0 restarts; unhealthy, watchdog not pinged: ") ||
					!strings.Contains(got[0], tc.wantStatus) {
					t.Fatalf("first unhealthy tick: received %q, want one STATUS= with %q", got, tc.wantStatus)
				}
				for range 5 { // 2.5 times WatchdogSec: systemd would have killed it
					time.Sleep(time.Second)
					synctest.Wait()
					sd.expect("unhealthy tick")
				}

				heal()
				time.Sleep(time.Second)
				synctest.Wait()
				sd.expect("healthy again", "WATCHDOG=1\nSTATUS=1/1 services running, 0 restarts")
				stop()
				if err := <-result; err != nil {
					t.Fatalf("Run: %v", err)
				}
				sd.expect("stopped", "STOPPING=1\nSTATUS=stopping: 1/1 services running, 0 restarts")
			})
		})
	}
}

// TestSystemdOffWithoutNotifySocket: with no NOTIFY_SOCKET, WorkerPhase
// allocates nothing, starts no goroutine, calls no Healthy, and a run
// sends nothing (the socket exists, but NOTIFY_SOCKET does not name it).
func TestSystemdOffWithoutNotifySocket(t *testing.T) {
	sd := listenNotify(t, 2*time.Second) // WATCHDOG_USEC set: it alone does nothing
	t.Setenv("NOTIFY_SOCKET", "")
	called := false
	ext := &observe.Systemd{Healthy: func(context.Context, service.Service) error {
		called = true
		return nil
	}}
	root := newProber()
	ctx := context.Background()
	nop := zerolog.Nop()
	steps := []mode.Step{mode.StepStarting, mode.StepRunning, mode.StepStopping, mode.StepStopped}
	phase := func(s mode.Step) {
		if err := ext.WorkerPhase(ctx, mode.Phase{Step: s, Root: root, Log: &nop}); err != nil {
			t.Fatalf("%v: %v", s, err)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, s := range steps {
			phase(s)
		}
	}); n != 0 {
		t.Errorf("a run's four steps allocate %v times, want 0", n)
	}
	before := goleak.IgnoreCurrent()
	phase(mode.StepStarting)
	phase(mode.StepRunning)
	if err := goleak.Find(before); err != nil {
		t.Errorf("a goroutine runs after StepRunning: %v", err)
	}
	phase(mode.StepStopping)
	phase(mode.StepStopped)

	synctest.Test(t, func(t *testing.T) {
		sd.t = t
		stop, result := runWorker(t, newProber(), nil, ext)
		time.Sleep(10 * time.Second)
		stop()
		if err := <-result; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
	sd.expect("a run without NOTIFY_SOCKET")
	if called {
		t.Error("Healthy was called")
	}
}

// syncBuffer is a log sink for a test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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
