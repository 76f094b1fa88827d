package service_test

// Review 20: attacks on parentDown (a child's Restart refused while its
// parent has not started it, 9a8f47b): legitimate restarts still allowed,
// and the windows around the check.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// r20svc is a service whose hooks are function fields (nil: no-op); each
// gets the number of the start it belongs to (1 for the first run; for
// OnRestart, the start that follows it).
type r20svc struct {
	service.Base
	starts atomic.Int32

	onStart, onStarted, onStop, onRestart func(ctx context.Context, n int32) error
}

func newR20(name string) *r20svc {
	s := &r20svc{}
	s.Configure(service.Config{Name: name, Logger: &quiet})
	return s
}

func r20call(fn func(context.Context, int32) error, ctx context.Context, n int32) error {
	if fn == nil {
		return nil
	}
	return fn(ctx, n)
}

func (s *r20svc) OnStart(ctx context.Context) error {
	return r20call(s.onStart, ctx, s.starts.Add(1))
}
func (s *r20svc) OnStarted(ctx context.Context) error {
	return r20call(s.onStarted, ctx, s.starts.Load())
}
func (s *r20svc) OnStop(ctx context.Context) error { return r20call(s.onStop, ctx, s.starts.Load()) }
func (s *r20svc) OnRestart(ctx context.Context) error {
	return r20call(s.onRestart, ctx, s.starts.Load()+1)
}

var (
	_ service.OnStarter     = (*r20svc)(nil)
	_ service.OnStartedHook = (*r20svc)(nil)
	_ service.OnStopper     = (*r20svc)(nil)
	_ service.OnRestarter   = (*r20svc)(nil)
)

// r20recv waits for ch (a watchdog, not a pace).
func r20recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// TestReview20ChildRestartLegit: the restarts parentDown must still let
// through. A child restarting itself from its own task or hook while its
// parent runs; a child whose parent is Crashed (the parent's own restart
// stops it next); a child restarted from its parent's OnStarted (the
// children step has passed); a parent's own Restart (it restarts its
// children itself).
func TestReview20ChildRestartLegit(t *testing.T) {
	cases := []struct {
		name string
		run  func(t *testing.T, ctx context.Context, p, k *r20svc) error
	}{
		{"from outside, parent running", func(t *testing.T, ctx context.Context, p, k *r20svc) error {
			return k.Restart(ctx)
		}},
		{"from its own task", func(t *testing.T, ctx context.Context, p, k *r20svc) error {
			res, started := make(chan error, 1), make(chan struct{})
			k.onStarted = func(_ context.Context, n int32) error {
				if n == 2 {
					close(started)
				}
				return nil
			}
			must(t, k.Go("restarter", func(tctx context.Context) error {
				res <- k.Restart(tctx) // from inside: begins, returns nil at once
				<-tctx.Done()
				return nil
			}))
			if err := r20recv(t, res, "k.Restart from its task"); err != nil {
				return err
			}
			r20recv(t, started, "k's second start")
			return k.WaitStarted(ctx) // OnStarted runs before Running
		}},
		{"from the parent's OnStarted", func(t *testing.T, ctx context.Context, p, k *r20svc) error {
			res := make(chan error, 1)
			p.onStarted = func(_ context.Context, n int32) error {
				if n == 2 {
					res <- k.Restart(ctx) // the children step has passed: k runs
				}
				return nil
			}
			if err := p.Restart(ctx); err != nil {
				return err
			}
			return r20recv(t, res, "k.Restart from p's OnStarted")
		}},
		{"parent crashed", func(t *testing.T, ctx context.Context, p, k *r20svc) error {
			p.Crash(errors.New("boom"))
			if err := k.Restart(ctx); err != nil {
				return err
			}
			// p's own restart stops k and starts it again.
			return p.Restart(ctx)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, k := newR20("p"), newR20("k")
			must(t, p.AddDependency(k))
			must(t, service.Start(ctx, p))
			defer func() { _ = p.Stop(ctx) }()
			if err := noHang(t, func() error { return tc.run(t, ctx, p, k) }); err != nil {
				t.Fatalf("%v", err)
			}
			if p.State() != service.Running || k.State() != service.Running {
				t.Fatalf("p %v, k %v: want both running", p.State(), k.State())
			}
			if k.RestartCount() < 1 {
				t.Fatalf("k's RestartCount %d", k.RestartCount())
			}
		})
	}
}

// TestReview20ChildRestartDuringParentKidsStep: a child's Restart that
// passes parentDown while its parent starts (at its children step, once
// the step has started it: k2, started before k1, restarts itself while
// k1 starts). Two outcomes were possible: the parent's start fails with
// ErrAlreadyStarted ("already started: k (state shutdown)", the child
// being in its OnRestart), or the parent finds it running, excludes it
// from its rollback, and a later failure of its start leaves the child
// running under a parent in Init. Now the child's Restart is part of the
// parent's start, which a rollback stops. (Before the step reaches it,
// the child's Restart is refused: TestReview20bSiblingRestartBeforeReached.)
func TestReview20ChildRestartDuringParentKidsStep(t *testing.T) {
	for _, when := range []string{"child in its OnRestart", "child restarted, then parent fails", "child in its OnRestart, parent fails"} {
		t.Run(when, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, k1, k2 := newR20("p"), newR20("k1"), newR20("k2")
			must(t, p.AddDependency(k2))
			must(t, p.AddDependency(k1))
			must(t, service.Start(ctx, p))
			entered, release := make(chan struct{}), make(chan struct{})
			restarted := make(chan error, 1)
			errKid := errors.New("k1 fails")
			var k2Restarts atomic.Int32
			k2.onRestart = func(context.Context, int32) error {
				if k2Restarts.Add(1) == 2 && when != "child restarted, then parent fails" { // its own Restart's, not p's
					close(entered)
					<-release
				}
				return nil
			}
			k1.onStart = func(_ context.Context, n int32) error {
				if n != 2 { // p's restart starts k1 again: its children step
					return nil
				}
				go func() { restarted <- k2.Restart(ctx) }()
				switch when {
				case "child in its OnRestart":
					<-entered
				case "child in its OnRestart, parent fails":
					<-entered // k2 is past parentDown
					return errKid
				default:
					if err := <-restarted; err != nil {
						t.Errorf("k2.Restart during p's children step: %v", err)
					}
				}
				return nil
			}
			fail := errors.New("p fails after its children step")
			if when == "child restarted, then parent fails" {
				p.onStarted = func(_ context.Context, n int32) error {
					if n == 2 {
						return fail
					}
					return nil
				}
			}
			var err error
			if when != "child restarted, then parent fails" {
				// p's start waits for k2's restart: release it once p.Restart
				// returned (it failed at once, before the fix) or a while
				// after. Either way the verdict is p.Restart's result.
				res := make(chan error, 1)
				go func() { res <- p.Restart(ctx) }()
				select {
				case err = <-res:
					close(release)
				case <-time.After(50 * time.Millisecond):
					close(release)
					err = r20recv(t, res, "p.Restart")
				}
			} else {
				err = noHang(t, func() error { return p.Restart(ctx) })
			}
			switch when {
			case "child in its OnRestart, parent fails":
				if !errors.Is(err, errKid) {
					t.Errorf("p.Restart: %v, want k1's start error", err)
				}
				if rerr := r20recv(t, restarted, "k2.Restart"); !errors.Is(rerr, service.ErrStopped) {
					t.Errorf("k2.Restart aborted by p's rollback: %v, want ErrStopped", rerr)
				}
			case "child in its OnRestart":
				if rerr := r20recv(t, restarted, "k2.Restart"); rerr != nil {
					t.Logf("k2.Restart: %v", rerr)
				}
				if err != nil {
					t.Errorf("p.Restart failed because k2 was restarting itself: %v", err)
				}
			default:
				if !errors.Is(err, fail) {
					t.Errorf("p.Restart: %v, want its OnStarted's error", err)
				}
			}
			// Whatever happened, k2 runs only if p runs.
			_ = k2.WaitStarted(ctx)
			if p.State() != service.Running && k2.State() == service.Running {
				t.Errorf("k2 runs while its parent p is %v", p.State())
			}
			_ = p.Stop(ctx)
			_ = k2.Stop(ctx)
			_ = k1.Stop(ctx)
		})
	}
}
