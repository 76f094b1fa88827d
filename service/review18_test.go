package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// Review 18 (7cb926d): a Restart of a child whose parent is stopping or
// has stopped is refused with ErrStopping. Restarts that are legitimate
// must still happen, or at least leave the child running when its parent
// does: a parent restarting, a parent crashed, a supervised child's child,
// a Restart from the child's own task; and the refusal must hold against a
// racing parent Stop.

// r18Node is a service whose hooks are function fields (nil: no-op) and
// which counts its starts.
type r18Node struct {
	service.Base
	starts    atomic.Int32
	onStart   func(ctx context.Context) error
	onRestart func(ctx context.Context) error
}

func newR18Node(name string) *r18Node {
	n := &r18Node{}
	n.Configure(service.Config{Name: name, Logger: &r17bQuiet})
	return n
}

func (n *r18Node) OnStart(ctx context.Context) error {
	n.starts.Add(1)
	if n.onStart != nil {
		return n.onStart(ctx)
	}
	return nil
}

func (n *r18Node) OnRestart(ctx context.Context) error {
	if n.onRestart != nil {
		return n.onRestart(ctx)
	}
	return nil
}

func r18Running(t *testing.T, what string, s service.Service) {
	t.Helper()
	if st := s.State(); st != service.Running {
		t.Errorf("%s: %s is %v, want running", what, s.ShortLabel(), st)
	}
}

// TestReview18ChildRestartDuringParentRestart: a child's Restart made
// while its parent restarts (from the parent's OnRestart, or from another
// goroutine meanwhile) may be refused, but the parent's restart starts the
// child again: once it returns, parent and child run.
func TestReview18ChildRestartDuringParentRestart(t *testing.T) {
	for _, from := range []string{"parent's OnRestart", "other goroutine"} {
		t.Run(from, func(t *testing.T) {
			ctx := r17bCtx(t)
			p, k := newR18Node("p"), newR18Node("k")
			if err := p.AddDependency(k); err != nil {
				t.Fatal(err)
			}
			got := make(chan error, 1)
			switch from {
			case "parent's OnRestart":
				p.onRestart = func(ctx context.Context) error {
					got <- k.Restart(ctx)
					return nil
				}
			case "other goroutine":
				p.onRestart = func(context.Context) error {
					done := make(chan struct{})
					go func() { got <- k.Restart(context.Background()); close(done) }()
					<-done
					return nil
				}
			}
			if err := service.Start(ctx, p); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = p.Stop(ctx) }()
			if err := p.Restart(ctx); err != nil {
				t.Fatalf("p.Restart: %v", err)
			}
			kerr := <-got
			t.Logf("k.Restart during p's restart: %v", kerr)
			if kerr != nil && !errors.Is(kerr, service.ErrStopping) {
				t.Errorf("k.Restart: %v, want nil or ErrStopping", kerr)
			}
			r18Running(t, "after p's restart", p)
			r18Running(t, "after p's restart", k)
			if err := p.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if st := k.State(); st != service.Shutdown {
				t.Errorf("k %v after p's Stop", st)
			}
		})
	}
}

// TestReview18ChildRestartLegitimate: a child's Restart while its parent
// has crashed (not stopped yet), from the child's own task, or of a
// grandchild under a supervised service, is done: it returns nil and the
// child runs again (a new start).
func TestReview18ChildRestartLegitimate(t *testing.T) {
	for _, how := range []string{"parent crashed", "own task", "under a supervised child", "supervised child crashed"} {
		t.Run(how, func(t *testing.T) {
			ctx := r17bCtx(t)
			p, k := newR18Node("p"), newR18Node("k")
			if err := p.AddDependency(k); err != nil {
				t.Fatal(err)
			}
			root := service.Service(p)
			var sup *supervisor.Supervisor
			if how == "under a supervised child" || how == "supervised child crashed" {
				sup = supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &r17bQuiet}, MaxRestarts: 10})
				if err := sup.Add(ctx, p); err != nil {
					t.Fatal(err)
				}
				root = sup
			}
			if err := service.Start(ctx, root); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = root.Stop(ctx) }()
			before := k.starts.Load()
			var err error
			switch how {
			case "parent crashed":
				p.Crash(errors.New("boom"))
				if st := p.State(); st != service.Crashed {
					t.Fatalf("p %v, want crashed", st)
				}
				err = k.Restart(ctx)
			case "own task":
				res := make(chan error, 1)
				if gerr := k.Go("restarter", func(tctx context.Context) error {
					res <- k.Restart(tctx)
					<-tctx.Done()
					return nil
				}); gerr != nil {
					t.Fatal(gerr)
				}
				err = <-res
				// The Restart finishes on a goroutine of its own.
				if werr := k.WaitStarted(ctx); werr != nil {
					t.Fatal(werr)
				}
				for k.starts.Load() == before || k.State() != service.Running {
					if ctx.Err() != nil {
						t.Fatalf("k never restarted: %v", k.State())
					}
					if werr := k.WaitStarted(ctx); werr != nil {
						t.Fatal(werr)
					}
				}
			case "under a supervised child":
				err = k.Restart(ctx)
			case "supervised child crashed":
				// sup restarts p; meanwhile k's own Restart may be refused
				// (p stopping), but p's restart starts k again.
				kerr := make(chan error, 1)
				p.onRestart = func(context.Context) error {
					go func() { kerr <- k.Restart(context.Background()) }()
					return nil
				}
				p.Crash(errors.New("boom"))
				e := <-kerr
				t.Logf("k.Restart during p's restart by sup: %v", e)
				// Refused: p stopping (ErrStopping), a stop of k in
				// progress wins (ErrStopped), or p starting, which starts
				// k itself (ErrNotStarted).
				if e != nil && !errors.Is(e, service.ErrStopping) && !errors.Is(e, service.ErrStopped) && !errors.Is(e, service.ErrNotStarted) {
					t.Errorf("k.Restart: %v", e)
				}
				for p.RestartCount() == 0 || p.State() != service.Running || k.State() != service.Running {
					if ctx.Err() != nil {
						t.Fatalf("p %v, k %v after p's restart", p.State(), k.State())
					}
					if werr := p.WaitStarted(ctx); werr != nil {
						t.Fatal(werr)
					}
					if werr := k.WaitStarted(ctx); werr != nil {
						t.Fatal(werr)
					}
				}
			}
			if err != nil {
				t.Errorf("k.Restart (%s): %v, want nil", how, err)
			}
			if how != "supervised child crashed" {
				r18Running(t, how, k)
				if k.starts.Load() == before {
					t.Errorf("k not started again (%s)", how)
				}
			}
		})
	}
}

// TestReview18ChildRestartRacesParentStop: a child's Restart races its
// parent's Stop, many times. Whatever the order, once both have returned
// the child does not run, and the Restart returned nil, ErrStopping or
// ErrStopped.
func TestReview18ChildRestartRacesParentStop(t *testing.T) {
	ctx := r17bCtx(t)
	for i := range 200 {
		p, k := newR18Node(fmt.Sprintf("p%d", i)), newR18Node(fmt.Sprintf("k%d", i))
		if err := p.AddDependency(k); err != nil {
			t.Fatal(err)
		}
		if err := service.Start(ctx, p); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var kerr error
		wg.Go(func() { kerr = k.Restart(ctx) })
		perr := p.Stop(ctx)
		wg.Wait()
		if perr != nil {
			t.Fatalf("#%d p.Stop: %v", i, perr)
		}
		if kerr != nil && !errors.Is(kerr, service.ErrStopping) && !errors.Is(kerr, service.ErrStopped) {
			t.Errorf("#%d k.Restart: %v", i, kerr)
		}
		if st := k.State(); st == service.Running || st == service.Starting {
			t.Fatalf("#%d k %v after p's Stop and its own Restart (%v) returned", i, st, kerr)
		}
	}
}
