package supervisor_test

// Review 20: attacks on 9a8f47b's restartByHand (a failed manual restart
// is the child's crash; a terminated child stays terminated) and
// stoppedDuring (an Add or RestartChild cut short by the supervisor's
// Stop wraps ErrNotRunning), and review 19's chaos failure (a grandchild
// left with a transition in progress, or Crashed, under its parent).

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// TestReview20FailedManualRestartHandledOnce: a child's own Restart (or a
// RestartChild of a crashed child waiting out a backoff) whose start
// fails is its crash, handled once: one ChildCrashed, no StartFailed, one
// restart by the strategy (after a backoff when configured), the count
// of ChildRestarted events equal to its RestartCount, its siblings
// restarted per the strategy, a Temporary child removed, and nothing
// restarted twice.
func TestReview20FailedManualRestartHandledOnce(t *testing.T) {
	type tc struct {
		st      strategy.Strategy
		backs   bool
		restart strategy.RestartType
		how     string
	}
	var cases []tc
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		for _, backs := range []bool{false, true} {
			for _, rt := range []strategy.RestartType{strategy.Permanent, strategy.Transient, strategy.Temporary} {
				cases = append(cases, tc{st, backs, rt, "own Restart"})
			}
			cases = append(cases, tc{st, backs, strategy.Permanent, "own Restart from its task"})
		}
		cases = append(cases, tc{st, true, strategy.Permanent, "RestartChild during a backoff"})
	}
	for _, c := range cases {
		name := fmt.Sprintf("%v/backoff=%v/%v/%s", c.st, c.backs, c.restart, c.how)
		t.Run(name, func(t *testing.T) {
			ctx := bg(t)
			clk := clock.NewFake(time.Unix(1000, 0))
			ev := newEvents()
			spec := supervisor.Spec{Service: service.Config{Name: "sup", Clock: clk}, Strategy: c.st,
				MaxRestarts: 100, Window: time.Hour}
			if c.backs {
				spec.Backoff = strategy.Backoff{Min: time.Second, Max: time.Second, NoJitter: true}
			}
			s := newSup(spec, ev)
			a, w, b := newD("a"), newD("w"), newD("b")
			const fail = 2 // the manual restart's start
			w.onStart = func(_ context.Context, n int32) error {
				if n == fail {
					return errBoom
				}
				return nil
			}
			must(t, s.Add(ctx, a))
			must(t, s.Add(ctx, w, supervisor.ChildSpec{Restart: c.restart}))
			must(t, s.Add(ctx, b))
			must(t, service.Start(ctx, s))

			switch c.how {
			case "own Restart":
				if err := w.Restart(ctx); !errors.Is(err, errBoom) {
					t.Fatalf("w.Restart: %v, want its start's error", err)
				}
			case "own Restart from its task":
				res := make(chan error, 1)
				must(t, w.Go("restarter", func(tctx context.Context) error {
					res <- w.Restart(tctx)
					<-tctx.Done()
					return nil
				}))
				if err := recv(t, res, "w.Restart from its task"); err != nil {
					t.Fatalf("w.Restart from its own task: %v, want nil (it waits for nothing)", err)
				}
				ev.wait(t, supervisor.ChildCrashed, "w", 1)
			default:
				w.Crash(errBoom)
				ev.wait(t, supervisor.BackoffStarted, "w", 1)
				if err := s.RestartChild(ctx, "w"); !errors.Is(err, errBoom) {
					t.Fatalf("RestartChild: %v, want its start's error", err)
				}
			}
			for range 3 { // every backoff fired, the queue drained
				clk.Advance(time.Minute)
				clk.Settle()
				settle(t, ctx, s, ev)
			}
			crashes := 1
			if c.how == "RestartChild during a backoff" {
				crashes = 2
			}
			if n := ev.count(supervisor.ChildCrashed, "w"); n != crashes {
				t.Errorf("%d ChildCrashed for w, want %d; events %s", n, crashes, ev)
			}
			if n := ev.count(supervisor.StartFailed, "w"); n != 0 {
				t.Errorf("%d StartFailed for w, want 0 (a manual restart's failure is a crash); events %s", n, ev)
			}
			ci, listed := childInfo(t, s, "w")
			if c.restart == strategy.Temporary {
				if listed || ev.count(supervisor.ChildRemoved, "w") != 1 {
					t.Errorf("a Temporary child whose manual restart failed: listed %v; events %s", listed, ev)
				}
			} else {
				if !listed || ci.State != service.Running || ci.Terminated {
					t.Fatalf("w after its failed manual restart: %+v; events %s", ci, ev)
				}
				if got := w.starts.Load(); got != fail+1 {
					t.Errorf("w started %d times, want %d (restarted once)", got, fail+1)
				}
				if n := ev.count(supervisor.ChildRestarted, "w"); n != ci.RestartCount || n != 1 {
					t.Errorf("w: RestartCount %d, %d ChildRestarted events, want 1; events %s", ci.RestartCount, n, ev)
				}
			}
			for _, sib := range []*dsvc{a, b} {
				if st := sib.State(); st != service.Running {
					t.Errorf("%s %v; events %s", sib.ShortLabel(), st, ev)
				}
			}
			must(t, s.Stop(ctx))
		})
	}
}

// TestReview20ManualRestartCallerGivesUp: the caller of a child's own
// Restart whose ctx ends during the start gets ctx's error; the start
// failed, and the child is not left down: its failed start is its crash
// (documented: "counted, restarted per its restart type"), restarted by
// the strategy. A terminated child whose RestartChild's caller gave up
// stays terminated.
func TestReview20ManualRestartCallerGivesUp(t *testing.T) {
	for _, how := range []string{"own Restart", "RestartChild of a terminated child"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, ev)
			w := newD("w")
			entered := make(chan struct{})
			w.onStart = func(hctx context.Context, n int32) error {
				if n == 2 {
					close(entered)
					<-hctx.Done() // honours its ctx: the caller's end reaches it
					return hctx.Err()
				}
				return nil
			}
			must(t, s.Add(ctx, w))
			must(t, service.Start(ctx, s))
			if how != "own Restart" {
				must(t, s.Terminate(ctx, "w"))
			}
			cctx, cancel := context.WithCancel(ctx)
			res := make(chan error, 1)
			go func() {
				if how == "own Restart" {
					res <- w.Restart(cctx)
				} else {
					res <- s.RestartChild(cctx, "w")
				}
			}()
			recv(t, entered, "w's second start")
			cancel()
			if err := recv(t, res, how); !errors.Is(err, context.Canceled) || errors.Is(err, supervisor.ErrNotRunning) {
				t.Errorf("%s whose caller gave up: %v, want context.Canceled (not ErrNotRunning)", how, err)
			}
			settle(t, ctx, s, ev)
			ci, _ := childInfo(t, s, "w")
			if how == "own Restart" {
				ev.wait(t, supervisor.ChildRestarted, "w", 1)
				settle(t, ctx, s, ev)
				ci, _ = childInfo(t, s, "w")
				if ci.State != service.Running || ev.count(supervisor.ChildCrashed, "w") != 1 {
					t.Errorf("w after its Restart's caller gave up: %+v; events %s", ci, ev)
				}
			} else if !ci.Terminated || ci.State == service.Running {
				t.Errorf("a terminated w after its RestartChild's caller gave up: %+v; events %s", ci, ev)
			}
			must(t, s.Stop(ctx))
		})
	}
}

// TestReview20FailedManualRestartNested: the child is itself a
// supervisor whose start fails (its own child's start fails): its own
// Restart's failure is its crash, the parent restarts it once.
func TestReview20FailedManualRestartNested(t *testing.T) {
	ctx := bg(t)
	ev, iev := newEvents(), newEvents()
	s := newSup(supervisor.Spec{Service: service.Config{Name: "top"}}, ev)
	inner := newSup(supervisor.Spec{Service: service.Config{Name: "inner"}}, iev)
	k := newD("k")
	k.onStart = func(_ context.Context, n int32) error {
		if n == 2 {
			return errBoom
		}
		return nil
	}
	must(t, inner.Add(ctx, k))
	must(t, s.Add(ctx, inner))
	must(t, service.Start(ctx, s))
	if err := inner.Restart(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("inner.Restart: %v, want its child's start error", err)
	}
	ev.wait(t, supervisor.ChildRestarted, "inner", 1)
	settle(t, ctx, s, ev)
	if n := ev.count(supervisor.ChildCrashed, "inner"); n != 1 {
		t.Errorf("%d ChildCrashed for inner, want 1; events %s", n, ev)
	}
	if inner.State() != service.Running || k.State() != service.Running || k.starts.Load() != 3 {
		t.Errorf("inner %v, k %v (started %d times); events %s", inner.State(), k.State(), k.starts.Load(), ev)
	}
	must(t, s.Stop(ctx))
}

// TestReview20GrandchildRestartDuringParentRestart is review 19's chaos
// failure ("RestartChild mid/p: ... service already started: r19w(k)
// (state shutdown)", and once "(state crashed)"), made deterministic: the
// grandchild k's own Restart, from outside, while its parent p, a
// supervised Base, is at its children step of a restart the supervisor
// makes. p's start failed with ErrAlreadyStarted (a failed restart
// attempt; the "state shutdown" of the chaos run); k then ran under a p
// rolled back to Init, and a crash of it left it Crashed there, so that
// every later start of p failed ("state crashed"). Now, before the step
// has reached k, k's Restart is refused (ErrNotStarted: the step starts
// k); once it has, k's Restart runs beside p's start, which succeeds.
func TestReview20GrandchildRestartDuringParentRestart(t *testing.T) {
	for _, how := range []string{"RestartChild", "strategy"} {
		for _, reached := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reached=%v", how, reached), func(t *testing.T) {
				r20GrandchildRestart(t, how, reached)
			})
		}
	}
}

func r20GrandchildRestart(t *testing.T, how string, reached bool) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{Service: service.Config{Name: "mid"}, MaxRestarts: 100, Window: time.Hour, OnEvent: ev.hook}, nil)
	// p's children step starts other, then k when not reached, or k,
	// then other when reached; other's start makes k's own Restart.
	p, other, k := newD("p"), newD("other"), newD("k")
	if reached {
		must(t, p.AddDependency(k))
		must(t, p.AddDependency(other))
	} else {
		must(t, p.AddDependency(other))
		must(t, p.AddDependency(k))
	}
	must(t, s.Add(ctx, p, supervisor.ChildSpec{ID: "p"}))
	must(t, service.Start(ctx, s))
	if how == "RestartChild" {
		must(t, s.Terminate(ctx, "p"))
	}
	entered, release := make(chan struct{}), make(chan struct{})
	restarted := make(chan error, 1)
	var kRestarts atomic.Int32
	k.onRestart = func(context.Context, int32) error {
		if kRestarts.Add(1) == 2 { // p's restart calls it first
			close(entered) // k's own Restart: past parentDown
			<-release
		}
		return nil
	}
	other.onStart = func(_ context.Context, n int32) error {
		if n != 2 { // not p's children step in its restart
			return nil
		}
		if !reached {
			restarted <- k.Restart(ctx) // refused at once
			return nil
		}
		go func() { restarted <- k.Restart(ctx) }()
		<-entered
		return nil
	}
	res := make(chan error, 1)
	if how == "RestartChild" {
		go func() { res <- s.RestartChild(ctx, "p") }()
	} else {
		go func() { p.Crash(errBoom); res <- nil }()
	}
	if err := recv(t, res, how); err != nil {
		t.Errorf("%s of p: %v", how, err)
	}
	ev.wait(t, supervisor.ChildRestarted, "p", 1)
	if reached {
		close(release)
		if err := recv(t, restarted, "k.Restart"); err != nil {
			t.Errorf("k.Restart once p's step started k: %v", err)
		}
	} else if err := recv(t, restarted, "k.Restart"); !errors.Is(err, service.ErrNotStarted) {
		t.Errorf("k.Restart before p's step reached k: %v, want ErrNotStarted", err)
	}
	settle(t, ctx, s, ev)
	if n := ev.count(supervisor.StartFailed, "p"); n != 0 {
		t.Errorf("p's restart failed %d times because k restarted itself; events %s", n, ev)
	}
	if p.State() != service.Running || k.State() != service.Running {
		t.Errorf("p %v, k %v; events %s", p.State(), k.State(), ev)
	}
	must(t, s.Stop(ctx))
	if st := k.State(); st == service.Running || st == service.Crashed {
		t.Errorf("k %v after its supervisor's Stop", st)
	}
}

// TestReview20StoppedDuring: what an Add or a RestartChild whose start
// the supervisor's Stop cut short returns, by what the child's start hook
// does once its ctx ends: returns ctx's error (ErrNotRunning, matching
// context.Canceled too), returns an error of its own (ErrNotRunning, with
// the child's error: the Stop is why it failed), or ends its caller's
// ctx first (the caller's ctx ended: the error matches it). In every case
// the child is not left running and the supervisor stops.
func TestReview20StoppedDuring(t *testing.T) {
	for _, op := range []string{"Add", "RestartChild"} {
		for _, hook := range []string{"ctx error", "own error", "caller gives up too"} {
			t.Run(op+"/"+hook, func(t *testing.T) {
				ctx := bg(t)
				ev := newEvents()
				s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, ev)
				w := newD("w")
				entered := make(chan struct{})
				slow := int32(1)
				if op == "RestartChild" {
					slow = 2
				}
				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				w.onStart = func(hctx context.Context, n int32) error {
					if n != slow {
						return nil
					}
					close(entered)
					<-hctx.Done() // the supervisor's Stop
					switch hook {
					case "own error":
						return errBoom
					case "caller gives up too":
						cancel()
					}
					return hctx.Err()
				}
				if op == "RestartChild" {
					must(t, s.Add(ctx, w))
				}
				must(t, service.Start(ctx, s))
				if op == "RestartChild" {
					must(t, s.Terminate(ctx, "w"))
				}
				res := make(chan error, 1)
				go func() {
					if op == "Add" {
						res <- s.Add(cctx, w)
					} else {
						res <- s.RestartChild(cctx, "w")
					}
				}()
				recv(t, entered, "the child's start")
				stopped := make(chan error, 1)
				go func() { stopped <- s.Stop(ctx) }()
				err := recv(t, res, op)
				switch hook {
				case "ctx error":
					if !errors.Is(err, supervisor.ErrNotRunning) || !errors.Is(err, context.Canceled) {
						t.Errorf("%s: %v, want ErrNotRunning and context.Canceled", op, err)
					}
				case "own error":
					if !errors.Is(err, supervisor.ErrNotRunning) || !errors.Is(err, errBoom) {
						t.Errorf("%s: %v, want ErrNotRunning and the child's error", op, err)
					}
				default:
					if !errors.Is(err, context.Canceled) {
						t.Errorf("%s whose caller's ctx ended: %v, want context.Canceled", op, err)
					}
				}
				must(t, recv(t, stopped, "Stop"))
				if st := w.State(); st == service.Running || st == service.Starting {
					t.Errorf("w %v after the supervisor's Stop", st)
				}
				if n := ev.count(supervisor.ChildRestarted, "w"); n != 0 {
					t.Errorf("w restarted %d times; events %s", n, ev)
				}
			})
		}
	}
}
