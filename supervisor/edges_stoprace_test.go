package supervisor_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// gatedSup is a supervisor whose OnStop, once armed, signals that it runs
// and waits until released: its Stop has begun (its Done is closed) but
// has not yet stopped its goroutine nor its children.
type gatedSup struct {
	supervisor.Supervisor
	stopIn, stopGo chan struct{} // nil: OnStop returns at once
}

func (g *gatedSup) OnStop(context.Context) error {
	if g.stopIn != nil {
		close(g.stopIn)
		<-g.stopGo
	}
	return nil
}

var _ service.OnStopper = (*gatedSup)(nil)

// waitGoroutine waits (bounded, polling with Gosched, never sleeping)
// until one goroutine is in state (as runtime.Stack prints it, "select")
// with every frame of frames on its stack.
func waitGoroutine(t *testing.T, state string, frames ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range bytes.Split(buf[:n], []byte("\n\n")) {
			header, _, _ := bytes.Cut(g, []byte("\n"))
			if !bytes.Contains(header, []byte("["+state)) {
				continue
			}
			all := true
			for _, f := range frames {
				all = all && bytes.Contains(g, []byte(f))
			}
			if all {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no goroutine in state %s with frames %v", state, frames)
		}
		runtime.Gosched()
	}
}

// TestDefectChildOwnCallRacingSupervisorStop: a supervised child's own
// Stop, routed to its supervisor as a request, that meets the supervisor's
// Stop (the request handled while the supervisor stops, or left in its
// queue when its goroutine ends) or a supervisor that gave up, returns nil
// once the child is stopped: never the supervisor's ErrNotRunning. The
// child's own Restart, which cannot happen then, returns ErrNotRunning and
// leaves the child as it was.
func TestDefectChildOwnCallRacingSupervisorStop(t *testing.T) {
	type env struct {
		ctx    context.Context
		sup    service.Service
		w      *worker // the child whose own Stop or Restart races
		call   chan error
		supErr chan error
		finish func() // lets the supervisor's Stop end
	}
	// Each window starts the supervisor and has the child's call (do)
	// made at a moment the supervisor stops or has given up, and returns
	// the env once do's answer can come.
	windows := []struct {
		name string
		run  func(t *testing.T, do func(*worker) error) *env
	}{
		{"while the supervisor's OnStop runs", func(t *testing.T, do func(*worker) error) *env {
			e := &env{ctx: bg(t), w: newWorker("w"), call: make(chan error, 1), supErr: make(chan error, 1)}
			g := &gatedSup{stopIn: make(chan struct{}), stopGo: make(chan struct{})}
			g.Configure(service.Config{Name: "sup", Logger: &quiet})
			must(t, g.Add(e.ctx, e.w))
			must(t, service.Start(e.ctx, g))
			e.sup, e.finish = g, func() { close(g.stopGo) }
			go func() { e.supErr <- g.Stop(e.ctx) }()
			recv(t, g.stopIn, "the supervisor's OnStop")
			go func() { e.call <- do(e.w) }()
			return e
		}},
		{"queued behind a child's hook, handled while the supervisor's OnStop runs", func(t *testing.T, do func(*worker) error) *env {
			e := &env{ctx: bg(t), w: newWorker("w"), call: make(chan error, 1), supErr: make(chan error, 1)}
			g := &gatedSup{stopIn: make(chan struct{}), stopGo: make(chan struct{})}
			g.Configure(service.Config{Name: "sup", Logger: &quiet})
			must(t, g.Add(e.ctx, e.w))
			must(t, service.Start(e.ctx, g))
			e.sup, e.finish = g, func() { close(g.stopGo) }
			hookIn, hookGo := blockedAdd(t, e.ctx, &g.Supervisor)
			<-hookIn
			go func() { e.call <- do(e.w) }()
			waitGoroutine(t, "select", "supervisor.(*child).", "supervisor.(*Supervisor).submit")
			go func() { e.supErr <- g.Stop(e.ctx) }()
			recv(t, g.stopIn, "the supervisor's OnStop")
			close(hookGo) // the goroutine goes on to the queued request
			return e
		}},
		{"queued behind a child's hook, left in the queue by the supervisor's Stop", func(t *testing.T, do func(*worker) error) *env {
			e := &env{ctx: bg(t), w: newWorker("w"), call: make(chan error, 1), supErr: make(chan error, 1)}
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
			must(t, s.Add(e.ctx, e.w))
			must(t, service.Start(e.ctx, s))
			e.sup, e.finish = s, func() {}
			hookIn, hookGo := blockedAdd(t, e.ctx, s)
			<-hookIn
			go func() { e.call <- do(e.w) }()
			waitGoroutine(t, "select", "supervisor.(*child).", "supervisor.(*Supervisor).submit")
			go func() { e.supErr <- s.Stop(e.ctx) }()
			waitGoroutine(t, "select", "supervisor.machinery.Stop")
			close(hookGo)
			return e
		}},
		{"after the supervisor gave up", func(t *testing.T, do func(*worker) error) *env {
			e := &env{ctx: bg(t), w: newWorker("w"), call: make(chan error, 1), supErr: make(chan error, 1)}
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}, NeverRestart: true}, nil)
			c := newWorker("c")
			must(t, s.Add(e.ctx, e.w))
			must(t, s.Add(e.ctx, c))
			must(t, service.Start(e.ctx, s))
			c.Crash(errBoom)
			if err := s.WaitUntilStopped(e.ctx); !errors.Is(err, supervisor.ErrMaxRestarts) {
				t.Fatalf("supervisor ended with %v, want ErrMaxRestarts", err)
			}
			e.sup, e.finish = s, func() {}
			go func() { e.call <- do(e.w) }()
			go func() { e.supErr <- s.Stop(e.ctx) }()
			return e
		}},
		{"after the supervisor crashed", func(t *testing.T, do func(*worker) error) *env {
			e := &env{ctx: bg(t), w: newWorker("w"), call: make(chan error, 1), supErr: make(chan error, 1)}
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
			must(t, s.Add(e.ctx, e.w))
			must(t, service.Start(e.ctx, s))
			s.Crash(errBoom) // no supervisor above: the tree is marked crashed
			if err := s.WaitUntilStopped(e.ctx); !errors.Is(err, errBoom) {
				t.Fatalf("supervisor ended with %v, want its crash", err)
			}
			e.sup, e.finish = s, func() { e.supErr <- s.Stop(e.ctx) }
			go func() { e.call <- do(e.w) }()
			return e
		}},
	}
	for _, win := range windows {
		t.Run("Stop/"+win.name, func(t *testing.T) {
			var state service.State
			e := win.run(t, func(w *worker) error {
				err := w.Stop(bg(t))
				state = w.State()
				return err
			})
			err := recv(t, e.call, "the child's Stop")
			if err != nil || state != service.Shutdown {
				t.Errorf("child's Stop returned %v with the child %v; want nil, Shutdown", err, state)
			}
			e.finish()
			_ = recv(t, e.supErr, "the supervisor's Stop")
			if st := e.w.State(); st != service.Shutdown {
				t.Errorf("child %v after the supervisor's Stop", st)
			}
		})
		t.Run("Restart/"+win.name, func(t *testing.T) {
			var restarts int
			e := win.run(t, func(w *worker) error {
				err := w.Restart(bg(t))
				restarts = w.RestartCount()
				return err
			})
			err := recv(t, e.call, "the child's Restart")
			if !errors.Is(err, supervisor.ErrNotRunning) || restarts != 0 {
				t.Errorf("child's Restart returned %v, RestartCount %d; want ErrNotRunning, 0", err, restarts)
			}
			e.finish()
			_ = recv(t, e.supErr, "the supervisor's Stop")
			if st := e.w.State(); st != service.Shutdown || e.w.Starts() != 1 {
				t.Errorf("child %v after %d starts, want Shutdown after 1", st, e.w.Starts())
			}
		})
	}
}

// blockedAdd adds, from another goroutine, a Temporary child whose
// OnStart (which ignores its ctx) holds the supervisor's goroutine: hookIn
// is closed once it runs, and it returns once hookGo is closed. The test
// waits for Add's return (its error does not matter here) at its end.
func blockedAdd(t *testing.T, ctx context.Context, s *supervisor.Supervisor) (hookIn, hookGo chan struct{}) {
	hookIn, hookGo = make(chan struct{}), make(chan struct{})
	b := newD("b")
	b.onStart = func(context.Context, int32) error {
		close(hookIn)
		<-hookGo
		return nil
	}
	added := make(chan error, 1)
	go func() { added <- s.Add(ctx, b, supervisor.ChildSpec{Restart: strategy.Temporary}) }()
	t.Cleanup(func() { _ = recv(t, added, "Add") })
	return hookIn, hookGo
}
