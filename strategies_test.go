package mode_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

var strategies = []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne}

// group returns the children restarted together with the one at index
// exited, per strategy, in start order.
func group(s strategy.Strategy, names []string, exited int) []string {
	switch s {
	case strategy.OneForAll:
		return names
	case strategy.RestForOne:
		return names[exited:]
	}
	return names[exited : exited+1]
}

// Every strategy × every restart type of the middle of three children ×
// crash or normal exit (OTP's permanent_/transient_/temporary_normal and
// _abnormal, one_for_one, one_for_all, rest_for_one): who restarts, who is
// removed, stop order reverse, start order forward. A child that ends for
// good does not set the strategy off.
func TestStrategyByRestartType(t *testing.T) {
	names := []string{"a", "b", "c"}
	for _, strat := range strategies {
		for _, typ := range []strategy.RestartType{strategy.Permanent, strategy.Transient, strategy.Temporary} {
			for _, crash := range []bool{true, false} {
				kind := map[bool]string{true: "crash", false: "normal"}[crash]
				t.Run(fmt.Sprintf("%s/%s/%s", strat, typ, kind), func(t *testing.T) {
					restarts := typ == strategy.Permanent || (typ == strategy.Transient && crash)
					var grp []string
					if restarts {
						grp = group(strat, names, 1)
					}
					// The expected journal: the others of the group stopped in
					// reverse start order, then each member reset and started
					// in start order ("stop b" is checked apart: b ended on
					// its own).
					var want []string
					for i := len(grp) - 1; i >= 0; i-- {
						if grp[i] != "b" {
							want = append(want, "stop "+grp[i])
						}
					}
					for _, n := range grp {
						want = append(want, "restart "+n, "start "+n)
					}

					ctx := testCtx(t)
					j := &journal{}
					ev := newEventLog()
					sup := newSup("sup", ev, supervisor.Spec{Strategy: strat, MaxRestarts: 10, Window: time.Hour})
					a, b, c := newNode("a", j), newNode("b", j).withExit(), newNode("c", j)
					must(t, sup.Add(context.Background(), a))
					must(t, sup.Add(context.Background(), b, supervisor.ChildSpec{Restart: typ}))
					must(t, sup.Add(context.Background(), c))
					must(t, service.Start(ctx, sup))
					defer stopAll(t, sup)
					mark := j.mark()

					if crash {
						b.exit <- errBoom
					} else {
						b.exit <- nil
					}
					switch {
					case restarts:
						ev.wait(t, "sup", supervisor.ChildRestarted, grp[len(grp)-1], 1)
					case typ == strategy.Temporary:
						ev.wait(t, "sup", supervisor.ChildRemoved, "b", 1)
					default:
						ev.wait(t, "sup", supervisor.ChildExited, "b", 1)
					}

					if got := slices.DeleteFunc(j.since(mark, "stop", "restart", "start"), func(l string) bool { return l == "stop b" }); !slices.Equal(got, want) {
						t.Errorf("journal\n got %v\nwant %v", got, want)
					}
					if n := b.stops.Load(); n != 1 {
						t.Errorf("b's OnStop ran %d times, want 1", n)
					}
					for _, n := range []*node{a, b, c} {
						in := slices.Contains(grp, n.name)
						wantStarts, wantCount := int32(1), 0
						if in {
							wantStarts, wantCount = 2, 1
						}
						if n.starts.Load() != wantStarts || n.RestartCount() != wantCount {
							t.Errorf("%s: starts %d RestartCount %d, want %d %d", n.name, n.starts.Load(), n.RestartCount(), wantStarts, wantCount)
						}
						wantState := service.Running
						if n == b && !restarts {
							wantState = service.Shutdown
						}
						if n.State() != wantState {
							t.Errorf("%s: state %v, want %v", n.name, n.State(), wantState)
						}
					}

					wantIDs := names
					if typ == strategy.Temporary {
						wantIDs = []string{"a", "c"} // its spec is removed
					}
					if got := childIDs(sup); !slices.Equal(got, wantIDs) {
						t.Errorf("children %v, want %v", got, wantIDs)
					}
					if typ == strategy.Temporary && b.Node().Parent() != nil {
						t.Errorf("removed Temporary child still attached to the tree")
					}
					if typ == strategy.Transient && !crash {
						if info := childInfo(t, sup, "b"); info.State != service.Shutdown || info.RestartCount != 0 {
							t.Errorf("Transient b after a normal exit: %+v (kept, down)", info)
						}
					}
					wantCrashed, wantExited := 0, 1
					if crash {
						wantCrashed, wantExited = 1, 0
					}
					if got := ev.count("sup", supervisor.ChildCrashed, "b"); got != wantCrashed {
						t.Errorf("%d ChildCrashed events, want %d", got, wantCrashed)
					}
					if got := ev.count("sup", supervisor.ChildExited, "b"); got != wantExited {
						t.Errorf("%d ChildExited events, want %d", got, wantExited)
					}
					if got := ev.count("sup", supervisor.ChildRestarted, ""); got != len(grp) {
						t.Errorf("%d ChildRestarted events, want %d", got, len(grp))
					}
					if sup.State() != service.Running {
						t.Errorf("supervisor %v", sup.State())
					}
				})
			}
		}
	}
}

// Bystanders (OTP's temporary_bystander): the children stopped because a
// sibling crashed are restarted, except Temporary ones, which are dropped.
func TestBystanders(t *testing.T) {
	names := []string{"a", "b", "c"}
	for _, strat := range strategies {
		for _, typ := range []strategy.RestartType{strategy.Permanent, strategy.Transient, strategy.Temporary} {
			t.Run(fmt.Sprintf("%s/%s", strat, typ), func(t *testing.T) {
				// a and c are bystanders of type typ; b crashes.
				grp := group(strat, names, 1)
				var stopped, restarted, kept []string
				for _, n := range names {
					in := slices.Contains(grp, n)
					switch {
					case n == "b":
						restarted = append(restarted, n)
					case in && typ == strategy.Temporary:
						stopped = append(stopped, n)
					case in:
						restarted = append(restarted, n)
					}
					if n == "b" || !in || typ != strategy.Temporary {
						kept = append(kept, n)
					}
				}

				ctx := testCtx(t)
				j := &journal{}
				ev := newEventLog()
				sup := newSup("sup", ev, supervisor.Spec{Strategy: strat, MaxRestarts: 10, Window: time.Hour})
				a, b, c := newNode("a", j), newNode("b", j), newNode("c", j)
				must(t, sup.Add(context.Background(), a, supervisor.ChildSpec{Restart: typ}))
				must(t, sup.Add(context.Background(), b))
				must(t, sup.Add(context.Background(), c, supervisor.ChildSpec{Restart: typ}))
				must(t, service.Start(ctx, sup))
				defer stopAll(t, sup)
				mark := j.mark()

				b.Crash(errBoom)
				ev.wait(t, "sup", supervisor.ChildRestarted, restarted[len(restarted)-1], 1)
				for _, n := range stopped {
					ev.wait(t, "sup", supervisor.ChildRemoved, n, 1)
				}

				if got := childIDs(sup); !slices.Equal(got, kept) {
					t.Errorf("children %v, want %v", got, kept)
				}
				var starts []string
				for _, n := range restarted {
					starts = append(starts, "start "+n)
				}
				if got := j.since(mark, "start"); !slices.Equal(got, starts) {
					t.Errorf("starts %v, want %v", got, starts)
				}
				for _, n := range []*node{a, b, c} {
					switch {
					case slices.Contains(restarted, n.name):
						if n.State() != service.Running || n.starts.Load() != 2 {
							t.Errorf("%s: %v starts %d, want restarted", n.name, n.State(), n.starts.Load())
						}
					case slices.Contains(stopped, n.name):
						if n.State() != service.Shutdown || n.starts.Load() != 1 || n.Node().Parent() != nil {
							t.Errorf("%s: %v starts %d, want stopped and removed", n.name, n.State(), n.starts.Load())
						}
					default:
						if n.State() != service.Running || n.starts.Load() != 1 || n.stops.Load() != 0 {
							t.Errorf("%s: %v starts %d stops %d, want untouched", n.name, n.State(), n.starts.Load(), n.stops.Load())
						}
					}
				}
				if got := ev.count("sup", supervisor.ChildRemoved, ""); got != len(stopped) {
					t.Errorf("%d ChildRemoved events, want %d", got, len(stopped))
				}
			})
		}
	}
}

// A group restart counts once toward the intensity (the supervisor package doc, "Counting"):
// with MaxRestarts 1, a one-for-all restart of three children is allowed,
// and the next crash makes the supervisor give up, stopping every child in
// reverse start order.
func TestGroupRestartCountsOnce(t *testing.T) {
	for _, strat := range []strategy.Strategy{strategy.OneForAll, strategy.RestForOne} {
		t.Run(strat.String(), func(t *testing.T) {
			ctx := testCtx(t)
			j := &journal{}
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{Strategy: strat, MaxRestarts: 1, Window: time.Hour})
			a, b, c := newNode("a", j), newNode("b", j), newNode("c", j)
			for _, n := range []*node{a, b, c} {
				must(t, sup.Add(context.Background(), n))
			}
			must(t, service.Start(ctx, sup))
			defer stopAll(t, sup)

			a.Crash(errBoom) // both strategies restart all three
			ev.wait(t, "sup", supervisor.ChildRestarted, "c", 1)
			if sup.State() != service.Running {
				t.Fatalf("a group restart counted more than once: supervisor %v", sup.State())
			}
			mark := j.mark()
			c.Crash(errBoom)
			if err := sup.WaitUntilStopped(ctx); err == nil {
				t.Fatalf("second restart allowed")
			}
			if got, want := j.since(mark, "stop", "start"), []string{"stop c", "stop b", "stop a"}; !slices.Equal(got, want) {
				t.Errorf("giving up: journal %v, want %v", got, want)
			}
			for _, n := range []*node{a, b, c} {
				if n.State() != service.Shutdown {
					t.Errorf("%s left %v", n.name, n.State())
				}
			}
		})
	}
}

// A group restart stops every member, the crashed one included, before
// starting any (crash logic step 4: "stops them (reverse start
// order), and restarts them (start order)"). The crashed child's run still
// has cleanup to do (OnStop, tasks joined, exit stack): it must not
// overlap the new runs of its siblings.
func TestGroupRestartStopsEveryMemberBeforeStarting(t *testing.T) {
	for _, strat := range []strategy.Strategy{strategy.OneForAll, strategy.RestForOne} {
		t.Run(strat.String(), func(t *testing.T) {
			ctx := testCtx(t)
			j := &journal{}
			ev := newEventLog()
			sup := newSup("sup", ev, supervisor.Spec{Strategy: strat, MaxRestarts: 10, Window: time.Hour})
			a, b, c := newNode("a", j), newNode("b", j), newNode("c", j)
			for _, n := range []*node{a, b, c} {
				must(t, sup.Add(context.Background(), n))
			}
			must(t, service.Start(ctx, sup))
			defer stopAll(t, sup)
			mark := j.mark()

			b.Crash(errBoom)
			ev.wait(t, "sup", supervisor.ChildRestarted, "c", 1)
			want := map[strategy.Strategy][]string{
				strategy.OneForAll:  {"stop c", "stop b", "stop a", "start a", "start b", "start c"},
				strategy.RestForOne: {"stop c", "stop b", "start b", "start c"},
			}[strat]
			if got := j.since(mark, "stop", "start"); !slices.Equal(got, want) {
				t.Errorf("journal\n got %v\nwant %v", got, want)
			}
		})
	}
}
