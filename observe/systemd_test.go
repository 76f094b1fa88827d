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
			name: "Healthy returns a long error: cut to 120 bytes, on a rune",
			setup: func(sd *observe.Systemd, _ *prober) (func(), func()) {
				var bad atomic.Bool
				sd.Healthy = func(ctx context.Context, root service.Service) error {
					if bad.Load() {
						return errors.New("x" + strings.Repeat("é", 100))
					}
					return nil
				}
				return func() { bad.Store(true) }, func() { bad.Store(false) }
			},
			wantStatus: ": x" + strings.Repeat("é", 59) + "...",
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
