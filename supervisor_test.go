package mode_test

// Whole-tree tests: supervisors, plain services and leaves together, checked
// against the contract ("Crash logic — the supervisor wakeup path",
// "Supervisors and strategies", "Semantics where OTP, suture and mode
// disagree") and the cases of OTP's supervisor_SUITE that apply.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// A leaf deep under a plain service under a supervisor crashes: the unit of
// restart is the plain service directly under the supervisor. It alone
// restarts, with its whole subtree: RestartCount+1 everywhere in it,
// OnRestart on each (parents first), no second OnFirstStart; its sibling
// and the supervisor itself are untouched.
func TestDeepLeafCrashRestartsTheSupervisedUnit(t *testing.T) {
	ctx := testCtx(t)
	j := &journal{}
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{})

	// sup ─┬─ unit ─┬─ mid ── leaf
	//      │        └─ other
	//      └─ sibling
	unit, mid, leaf, other := newNode("unit", j), newNode("mid", j), newNode("leaf", j), newNode("other", j)
	sibling := newNode("sibling", j)
	must(t, mid.AddDependency(leaf))
	must(t, unit.AddDependency(mid))
	must(t, unit.AddDependency(other))
	must(t, sup.Add(context.Background(), unit))
	must(t, sup.Add(context.Background(), sibling))
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	if got, want := j.since(0, "start"), []string{"start unit", "start mid", "start leaf", "start other", "start sibling"}; !slices.Equal(got, want) {
		t.Fatalf("first start order %v, want %v", got, want)
	}
	mark := j.mark()

	leaf.Crash(errBoom)
	ev.wait(t, "sup", supervisor.ChildRestarted, "unit", 1)

	subtree := []*node{unit, mid, leaf, other}
	for _, n := range subtree {
		if n.State() != service.Running || n.RestartCount() != 1 || n.starts.Load() != 2 ||
			n.restarts.Load() != 1 || n.firstStarts.Load() != 1 || n.CrashReason() != nil {
			t.Errorf("%s: state %v RestartCount %d starts %d OnRestart %d OnFirstStart %d reason %v; want running, 1, 2, 1, 1, nil",
				n.name, n.State(), n.RestartCount(), n.starts.Load(), n.restarts.Load(), n.firstStarts.Load(), n.CrashReason())
		}
	}
	if sibling.State() != service.Running || sibling.RestartCount() != 0 || sibling.starts.Load() != 1 || sibling.stops.Load() != 0 {
		t.Errorf("sibling touched: state %v RestartCount %d starts %d stops %d",
			sibling.State(), sibling.RestartCount(), sibling.starts.Load(), sibling.stops.Load())
	}
	if sup.State() != service.Running || sup.RestartCount() != 0 || sup.CrashReason() != nil {
		t.Errorf("supervisor affected: state %v RestartCount %d reason %v", sup.State(), sup.RestartCount(), sup.CrashReason())
	}

	// The subtree was stopped (the unit first, then its children in reverse
	// order), then reset with OnRestart parents first, then started in order.
	if got, want := j.since(mark, "stop"), []string{"stop unit", "stop other", "stop mid", "stop leaf"}; !slices.Equal(got, want) {
		t.Errorf("stop order %v, want %v", got, want)
	}
	restarts := j.since(mark, "restart")
	if len(restarts) != 4 || restarts[0] != "restart unit" ||
		slices.Index(restarts, "restart mid") > slices.Index(restarts, "restart leaf") {
		t.Errorf("OnRestart order %v: want unit first and mid before leaf", restarts)
	}
	if got, want := j.since(mark, "start"), []string{"start unit", "start mid", "start leaf", "start other"}; !slices.Equal(got, want) {
		t.Errorf("restart start order %v, want %v", got, want)
	}
	all := j.since(mark)
	lastStop, firstRestart := -1, slices.Index(all, "restart unit")
	for i, l := range all {
		if strings.HasPrefix(l, "stop ") {
			lastStop = i
		}
	}
	if lastStop > firstRestart || firstRestart > slices.Index(all, "start unit") {
		t.Errorf("restart is not Stop → OnRestart → Start: %v", all)
	}
	if slices.Contains(all, "first unit") || slices.Contains(all, "first leaf") {
		t.Errorf("OnFirstStart called again on restart: %v", all)
	}

	// The supervisor saw exactly one crash, of the unit, with the leaf's reason.
	crashes := ev.wait(t, "sup", supervisor.ChildCrashed, "", 1)
	if len(crashes) != 1 || crashes[0].Child != "unit" || !errors.Is(crashes[0].Reason, errBoom) {
		t.Errorf("crash events %+v: want one, of unit, wrapping errBoom", crashes)
	}
	if info := childInfo(t, sup, "unit"); info.RestartCount != 1 || !errors.Is(info.LastReason, errBoom) || info.State != service.Running {
		t.Errorf("Children() unit: %+v", info)
	}
	if info := childInfo(t, sup, "sibling"); info.RestartCount != 0 || info.LastReason != nil {
		t.Errorf("Children() sibling: %+v", info)
	}
}

// Escalation through three levels, as OTP's one_for_one_escalation:
//
//	root ─┬─ sup1 ── sup2 ── sup3 ── leaf
//	      └─ bystander
//
// Each supervisor allows one restart. The leaf's crashes exhaust sup3,
// which crashes with ErrMaxRestarts and is restarted by sup2; when sup2 is
// exhausted sup1 restarts it; when sup1 gives up there is no supervisor
// above (root is a plain service), so the whole tree is marked crashed.
func TestEscalationThroughThreeLevels(t *testing.T) {
	ctx := testCtx(t)
	ev := newEventLog()
	one := supervisor.Spec{MaxRestarts: 1, Window: time.Hour}
	sup1, sup2, sup3 := newSup("sup1", ev, one), newSup("sup2", ev, one), newSup("sup3", ev, one)
	leaf := newNode("leaf", nil).withStarted()
	root, bystander := newNode("root", nil), newNode("bystander", nil)
	must(t, sup3.Add(context.Background(), leaf))
	must(t, sup2.Add(context.Background(), sup3))
	must(t, sup1.Add(context.Background(), sup2))
	must(t, root.AddDependency(sup1))
	must(t, root.AddDependency(bystander))
	must(t, service.Start(ctx, root))
	defer stopAll(t, root)

	starts := int32(1)
	leaf.waitStarted(t, starts)
	// crash makes the leaf crash once and waits until the tree is running
	// again (its next start), checking who restarted.
	type counts struct{ leaf, sup3, sup2 int }
	crash := func(step int, want counts) {
		t.Helper()
		leaf.Crash(errBoom)
		starts++
		leaf.waitStarted(t, starts)
		ev.wait(t, "", supervisor.ChildRestarted, "", step)
		got := counts{leaf.RestartCount(), sup3.RestartCount(), sup2.RestartCount()}
		if got != want {
			t.Fatalf("after crash %d: RestartCount leaf/sup3/sup2 = %+v, want %+v; events %s", step, got, want, ev)
		}
		for _, s := range []service.Service{leaf, sup3, sup2, sup1, root, bystander} {
			if s.State() != service.Running {
				t.Fatalf("after crash %d: %s is %v", step, s.Label(), s.State())
			}
		}
	}
	crash(1, counts{1, 0, 0}) // sup3 restarts leaf
	crash(2, counts{2, 1, 0}) // sup3 gives up; sup2 restarts sup3 (and its subtree)
	crash(3, counts{3, 1, 0}) // the new sup3 has a fresh window: restarts leaf
	crash(4, counts{4, 2, 1}) // sup3 gives up, sup2 gives up: sup1 restarts sup2
	crash(5, counts{5, 2, 1})
	crash(6, counts{6, 3, 1}) // sup3 gives up; sup2 (fresh window) restarts it

	if n := ev.count("sup3", supervisor.MaxRestartsExceeded, ""); n != 3 {
		t.Errorf("sup3 gave up %d times, want 3 (crashes 2, 4 and 6)", n)
	}
	if n := ev.count("sup2", supervisor.MaxRestartsExceeded, ""); n != 1 {
		t.Errorf("sup2 gave up %d times, want 1", n)
	}
	if got := childInfo(t, sup2, "sup3"); got.RestartCount != 2 || !errors.Is(got.LastReason, supervisor.ErrMaxRestarts) {
		t.Errorf("sup2's view of sup3: %+v", got)
	}
	if got := childInfo(t, sup1, "sup2"); got.RestartCount != 1 || !errors.Is(got.LastReason, supervisor.ErrMaxRestarts) {
		t.Errorf("sup1's view of sup2: %+v", got)
	}

	// The last straw: leaf crashes twice more; sup3, sup2 and sup1 give up
	// in turn, and the crash reaches the root.
	leaf.Crash(errBoom)
	ev.wait(t, "sup3", supervisor.ChildRestarted, "leaf", 4) // crashes 1, 3, 5, 7: leaf is Running again
	leaf.Crash(errBoom)
	err := root.WaitUntilStopped(ctx)
	if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errBoom) {
		t.Fatalf("root's crash reason %v: want ErrMaxRestarts wrapping errBoom", err)
	}
	for _, name := range []string{"sup1", "sup2", "sup3"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("reason %q does not name %s", err, name)
		}
	}
	if sup1.State() != service.Crashed || !errors.Is(sup1.CrashReason(), supervisor.ErrMaxRestarts) {
		t.Errorf("sup1: %v %v", sup1.State(), sup1.CrashReason())
	}
	// No supervisor above sup1: the whole tree is marked crashed, the
	// bystander included, with the same reason. (The root's Done closes
	// before its subtree is marked: wait for the bystander's run to end.)
	if err := bystander.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) {
		t.Errorf("bystander's run ended with %v", err)
	}
	for _, s := range []service.Service{root, bystander} {
		if s.State() != service.Crashed || !errors.Is(s.CrashReason(), supervisor.ErrMaxRestarts) {
			t.Errorf("%s: state %v reason %v; want crashed with ErrMaxRestarts", s.Label(), s.State(), s.CrashReason())
		}
	}
	// sup1 stopped its children before crashing: nothing below it runs.
	for _, s := range []service.Service{sup2, sup3, leaf} {
		if s.State() == service.Running {
			t.Errorf("%s still running after sup1 gave up", s.Label())
		}
	}
	if bystander.RestartCount() != 0 || root.RestartCount() != 0 {
		t.Errorf("root/bystander restarted: %d %d", root.RestartCount(), bystander.RestartCount())
	}
	for _, name := range []string{"sup1", "sup2", "sup3"} {
		if n := ev.count(name, supervisor.MaxRestartsExceeded, ""); n < 1 {
			t.Errorf("%s never gave up", name)
		}
	}
}

// A start that fails during a restart counts as a crash of that child and
// is retried under the intensity limit; nothing is left half-started (OTP
// restarts the failed child, and under one_for_all its group, until the
// intensity is exhausted). The middle child b fails its first restart.
func TestFailedStartDuringRestartIsRetried(t *testing.T) {
	errStart := errors.New("cannot start")
	for _, tc := range []struct {
		strat   strategy.Strategy
		crash   string   // who crashes
		journal []string // stop/restart/start after the crash
		starts  [3]int32 // OnStart calls of a, b, c
		counts  [3]int   // Children().RestartCount of a, b, c
	}{{
		strat: strategy.OneForOne, crash: "b",
		journal: []string{
			"stop b", "restart b", "start b", // fails
			"start b", // retried: b was rolled back to Init, so a plain start
		},
		starts: [3]int32{1, 3, 1}, counts: [3]int{0, 1, 0},
	}, {
		strat: strategy.OneForAll, crash: "a",
		journal: []string{
			"stop c", "stop b", "stop a",
			"restart a", "start a", "restart b", "start b", // b fails
			"stop a", // a is not left running beside a failed b
			"restart a", "start a", "start b", "restart c", "start c",
		},
		starts: [3]int32{3, 3, 2}, counts: [3]int{2, 1, 1},
	}, {
		strat: strategy.RestForOne, crash: "a",
		journal: []string{
			"stop c", "stop b", "stop a",
			"restart a", "start a", "restart b", "start b", // b fails
			"start b", "restart c", "start c", // a, before b, stays up
		},
		starts: [3]int32{2, 3, 2}, counts: [3]int{1, 1, 1},
	}} {
		t.Run(tc.strat.String(), func(t *testing.T) {
			ctx := testCtx(t)
			j := &journal{}
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{Strategy: tc.strat, MaxRestarts: 10, Window: time.Hour})
			a, b, c := newNode("a", j), newNode("b", j).failAt(2, errStart), newNode("c", j)
			kids := []*node{a, b, c}
			for _, n := range kids {
				must(t, sup.Add(context.Background(), n))
			}
			must(t, service.Start(ctx, sup))
			defer stopAll(t, sup)
			mark := j.mark()

			map[string]*node{"a": a, "b": b}[tc.crash].Crash(errBoom)
			ev.wait(t, "sup", supervisor.ChildRestarted, "c", min(tc.counts[2], 1))
			ev.wait(t, "sup", supervisor.ChildRestarted, "b", 1)

			if got := j.since(mark, "stop", "restart", "start"); !slices.Equal(got, tc.journal) {
				t.Errorf("journal\n got %v\nwant %v", got, tc.journal)
			}
			for i, n := range kids {
				if n.State() != service.Running || n.starts.Load() != tc.starts[i] {
					t.Errorf("%s: state %v starts %d; want running, %d", n.name, n.State(), n.starts.Load(), tc.starts[i])
				}
				if got := childInfo(t, sup, n.name).RestartCount; got != tc.counts[i] {
					t.Errorf("Children() %s RestartCount %d, want %d", n.name, got, tc.counts[i])
				}
			}
			fails := ev.wait(t, "sup", supervisor.StartFailed, "b", 1)
			if len(fails) != 1 || !errors.Is(fails[0].Reason, errStart) {
				t.Errorf("StartFailed events %+v: want one wrapping the start error", fails)
			}
			if sup.State() != service.Running || sup.RestartCount() != 0 {
				t.Errorf("supervisor %v, RestartCount %d", sup.State(), sup.RestartCount())
			}
		})
	}
}

// A restart that keeps failing exhausts the intensity: the supervisor gives
// up with ErrMaxRestarts wrapping the start error, and no child is left
// running (OTP's one_for_all_escalation when a restarted sibling fails).
func TestFailedStartsExhaustIntensity(t *testing.T) {
	ctx := testCtx(t)
	errStart := errors.New("cannot start")
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{Strategy: strategy.OneForAll, MaxRestarts: 2, Window: time.Hour})
	a, b, c := newNode("a", nil), newNode("b", nil), newNode("c", nil)
	for k := 2; k < 10; k++ {
		b.failAt(k, errStart)
	}
	for _, n := range []*node{a, b, c} {
		must(t, sup.Add(context.Background(), n))
	}
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	a.Crash(errBoom)
	err := sup.WaitUntilStopped(ctx)
	if !errors.Is(err, supervisor.ErrMaxRestarts) || !errors.Is(err, errStart) {
		t.Fatalf("supervisor reason %v: want ErrMaxRestarts wrapping the start error", err)
	}
	if sup.State() != service.Crashed {
		t.Errorf("supervisor %v, want crashed", sup.State())
	}
	// One restart for the crash, one per failed attempt: the third is refused.
	if n := ev.count("sup", supervisor.StartFailed, "b"); n != 2 {
		t.Errorf("%d failed starts, want 2 (MaxRestarts 2: the crash and one retry are allowed)", n)
	}
	if n := ev.count("sup", supervisor.MaxRestartsExceeded, ""); n != 1 {
		t.Errorf("%d MaxRestartsExceeded events", n)
	}
	if n := ev.count("sup", supervisor.ChildRestarted, "c"); n != 0 {
		t.Errorf("c restarted %d times though b never came up", n)
	}
	for _, n := range []*node{a, b, c} {
		if n.State() == service.Running || n.State() == service.Starting {
			t.Errorf("%s left %v after the supervisor gave up", n.name, n.State())
		}
	}
}

// Significant children (OTP 24 auto_shutdown): the supervisor stops itself
// normally when any / all significant children have ended normally. A crash
// of a significant child is restarted as usual and does not count.
func TestSignificantChildren(t *testing.T) {
	for _, tc := range []struct {
		auto supervisor.AutoShutdown
		// after s1 exits: does the supervisor stop?
		stopsAfterFirst bool
	}{
		{supervisor.AnySignificant, true},
		{supervisor.AllSignificant, false},
	} {
		t.Run(tc.auto.String(), func(t *testing.T) {
			ctx := testCtx(t)
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{AutoShutdown: tc.auto})
			perm := newNode("perm", nil)
			s1, s2 := newNode("s1", nil).withExit(), newNode("s2", nil).withExit()
			must(t, sup.Add(context.Background(), perm))
			must(t, sup.Add(context.Background(), s1, supervisor.ChildSpec{Restart: strategy.Transient, Significant: true}))
			must(t, sup.Add(context.Background(), s2, supervisor.ChildSpec{Restart: strategy.Transient, Significant: true}))
			must(t, service.Start(ctx, sup))
			defer stopAll(t, sup)

			// A crash is not an end: s1 is restarted, the supervisor stays.
			s1.exit <- errBoom
			ev.wait(t, "sup", supervisor.ChildRestarted, "s1", 1)
			if sup.State() != service.Running || s1.State() != service.Running {
				t.Fatalf("after s1's crash: sup %v, s1 %v", sup.State(), s1.State())
			}

			s1.exit <- nil // a normal exit
			ev.wait(t, "sup", supervisor.ChildExited, "s1", 1)
			if !tc.stopsAfterFirst {
				if sup.State() != service.Running || s2.State() != service.Running || perm.State() != service.Running {
					t.Fatalf("AllSignificant stopped after one of two: sup %v s2 %v perm %v", sup.State(), s2.State(), perm.State())
				}
				if info := childInfo(t, sup, "s1"); info.State != service.Shutdown || info.RestartCount != 1 {
					t.Errorf("s1 after its normal exit: %+v (Transient: kept, not restarted)", info)
				}
				s2.exit <- nil
			}
			if err := sup.WaitUntilStopped(ctx); err != nil {
				t.Fatalf("supervisor ended with %v, want a normal stop", err)
			}
			if sup.State() != service.Shutdown || sup.CrashReason() != nil {
				t.Errorf("supervisor: %v %v, want shutdown with no reason", sup.State(), sup.CrashReason())
			}
			for _, n := range []*node{perm, s1, s2} {
				if n.State() != service.Shutdown {
					t.Errorf("%s left %v", n.name, n.State())
				}
			}
			if n := ev.count("sup", supervisor.MaxRestartsExceeded, ""); n != 0 {
				t.Errorf("auto-shutdown reported as giving up")
			}
		})
	}
}

// A supervisor that auto-shuts down is a normal exit for its own
// supervisor: a Transient one stays down, a Permanent one comes back.
func TestSignificantShutdownIsNormalExitForParent(t *testing.T) {
	for _, tc := range []struct {
		restart   strategy.RestartType
		restarted bool
	}{
		{strategy.Transient, false},
		{strategy.Permanent, true},
	} {
		t.Run(tc.restart.String(), func(t *testing.T) {
			ctx := testCtx(t)
			ev := newEventLog()
			outer := newSup("outer", ev, supervisor.Spec{})
			inner := newSup("inner", ev, supervisor.Spec{AutoShutdown: supervisor.AnySignificant})
			sig := newNode("sig", nil).withExit().withStarted()
			other := newNode("other", nil)
			must(t, inner.Add(context.Background(), sig, supervisor.ChildSpec{Restart: strategy.Transient, Significant: true}))
			must(t, outer.Add(context.Background(), inner, supervisor.ChildSpec{Restart: tc.restart}))
			must(t, outer.Add(context.Background(), other))
			must(t, service.Start(ctx, outer))
			defer stopAll(t, outer)
			sig.waitStarted(t, 1)

			sig.exit <- nil
			ev.wait(t, "outer", supervisor.ChildExited, "inner", 1)
			if tc.restarted {
				ev.wait(t, "outer", supervisor.ChildRestarted, "inner", 1)
				sig.waitStarted(t, 2)
				if inner.State() != service.Running || inner.RestartCount() != 1 || sig.State() != service.Running {
					t.Errorf("Permanent inner not back: %v RestartCount %d, sig %v", inner.State(), inner.RestartCount(), sig.State())
				}
			} else {
				if err := inner.WaitUntilStopped(ctx); err != nil || inner.State() != service.Shutdown {
					t.Errorf("inner: %v %v, want a normal stop", inner.State(), err)
				}
				if n := ev.count("outer", supervisor.ChildRestarted, "inner"); n != 0 {
					t.Errorf("Transient inner restarted after a normal exit")
				}
			}
			if n := ev.count("outer", supervisor.ChildCrashed, ""); n != 0 {
				t.Errorf("outer saw %d crashes; an auto-shutdown is a normal exit", n)
			}
			if outer.State() != service.Running || other.State() != service.Running || other.starts.Load() != 1 {
				t.Errorf("outer %v, other %v starts %d: the strategy must not fire", outer.State(), other.State(), other.starts.Load())
			}
		})
	}
}

// A Replacement factory builds a fresh instance at each restart: it takes
// the old child's ID, position and node; its own RestartCount is 0 and its
// OnFirstStart runs; the ID's count in Children() continues.
func TestReplacementTakesThePlace(t *testing.T) {
	ctx := testCtx(t)
	j := &journal{}
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{})
	var made []*node
	factory := func() service.Service {
		n := newNode("b", j)
		made = append(made, n) // only the supervisor's goroutine calls it
		return n
	}
	a, b0, c := newNode("a", j), newNode("b", j), newNode("c", j)
	must(t, sup.Add(context.Background(), a))
	must(t, sup.Add(context.Background(), b0, supervisor.ChildSpec{ID: "b", Replacement: factory}))
	must(t, sup.Add(context.Background(), c))
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	old := b0
	for round := 1; round <= 2; round++ {
		old.Crash(errBoom)
		ev.wait(t, "sup", supervisor.ChildRestarted, "b", round)
		if len(made) != round {
			t.Fatalf("factory called %d times after %d crashes", len(made), round)
		}
		fresh := made[round-1]
		if sup.Child("b") != service.Service(fresh) {
			t.Fatalf("round %d: Child(\"b\") is not the fresh instance", round)
		}
		if got := childIDs(sup); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Errorf("round %d: order %v", round, got)
		}
		if info := childInfo(t, sup, "b"); info.RestartCount != round || info.State != service.Running || !errors.Is(info.LastReason, errBoom) {
			t.Errorf("round %d: Children() b = %+v", round, info)
		}
		if fresh.State() != service.Running || fresh.RestartCount() != 0 || fresh.firstStarts.Load() != 1 || fresh.restarts.Load() != 0 {
			t.Errorf("round %d: fresh %v RestartCount %d OnFirstStart %d OnRestart %d; want running, 0, 1, 0",
				round, fresh.State(), fresh.RestartCount(), fresh.firstStarts.Load(), fresh.restarts.Load())
		}
		if old.State() == service.Running || old.starts.Load() != 1 || old.restarts.Load() != 0 {
			t.Errorf("round %d: the old instance ran again: %v starts %d", round, old.State(), old.starts.Load())
		}
		if fresh.Node().Parent() != sup.Node() {
			t.Errorf("round %d: fresh node not under the supervisor's node", round)
		}
		if old.Node().Parent() != nil {
			t.Errorf("round %d: old node still attached", round)
		}
		old = fresh
	}
	if a.starts.Load() != 1 || c.starts.Load() != 1 {
		t.Errorf("siblings restarted: a %d c %d", a.starts.Load(), c.starts.Load())
	}
	if n := sup.Node().Len(); n != 3 {
		t.Errorf("supervisor node has %d children, want 3", n)
	}
	// The start/stop order keeps the replacement in b's place.
	mark := j.mark()
	must(t, sup.Stop(ctx))
	if got, want := j.since(mark, "stop"), []string{"stop c", "stop b", "stop a"}; !slices.Equal(got, want) {
		t.Errorf("stop order after replacements %v, want %v", got, want)
	}
}

// The replacement also takes the old child's position in the node graph
// ("the new one takes the old one's place in the order and the
// node graph"), so tree dumps and renderers keep the start order.
func TestReplacementKeepsNodePosition(t *testing.T) {
	ctx := testCtx(t)
	ev := newEventLog()
	sup := newSup("sup", ev, supervisor.Spec{})
	var fresh *node
	a, b, c := newNode("a", nil), newNode("b", nil), newNode("c", nil)
	must(t, sup.Add(context.Background(), a))
	must(t, sup.Add(context.Background(), b, supervisor.ChildSpec{ID: "b", Replacement: func() service.Service {
		fresh = newNode("b", nil)
		return fresh
	}}))
	must(t, sup.Add(context.Background(), c))
	must(t, service.Start(ctx, sup))
	defer stopAll(t, sup)

	b.Crash(errBoom)
	ev.wait(t, "sup", supervisor.ChildRestarted, "b", 1)
	var order []string
	for _, n := range sup.Node().Children() {
		order = append(order, n.Value().(service.Service).ShortLabel())
	}
	if !slices.Equal(order, []string{"a", "b", "c"}) || sup.Node().IndexOf(fresh.Node()) != 1 {
		t.Errorf("node order %v, fresh at %d; want [a b c], 1", order, sup.Node().IndexOf(fresh.Node()))
	}
}
