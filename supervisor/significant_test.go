package supervisor_test

import (
	"fmt"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// TestSignificantEndedForGood: as in OTP's auto_shutdown, a significant
// child ends the supervisor when it ends on its own for good: a Transient
// one by exiting normally (a crash restarts it), a Temporary one by
// exiting or crashing (it is never restarted). Under AllSignificant the
// last one to end that way decides, whichever way the others ended.
func TestSignificantEndedForGood(t *testing.T) {
	type ending struct {
		typ   strategy.RestartType
		crash bool
	}
	endings := []ending{
		{strategy.Transient, false},
		{strategy.Transient, true},
		{strategy.Temporary, false},
		{strategy.Temporary, true},
	}
	name := func(e ending) string {
		how := "exits"
		if e.crash {
			how = "crashes"
		}
		return fmt.Sprintf("%v %s", e.typ, how)
	}
	forGood := func(e ending) bool { return !e.crash || e.typ == strategy.Temporary }
	end := func(t *testing.T, f *dsvc, e ending) {
		if e.crash {
			f.Crash(errBoom)
		} else {
			must(t, f.Stop(bg(t)))
		}
	}
	for _, auto := range []supervisor.AutoShutdown{supervisor.AnySignificant, supervisor.AllSignificant} {
		for _, first := range endings {
			for _, last := range endings {
				if auto == supervisor.AnySignificant && last != endings[0] {
					continue // only the first ending matters
				}
				t.Run(fmt.Sprintf("%v/%s then %s", auto, name(first), name(last)), func(t *testing.T) {
					ctx := bg(t)
					ev := newEvents()
					s := newSup(supervisor.Spec{AutoShutdown: auto, MaxRestarts: 10}, ev)
					a, b := newD("a"), newD("b")
					must(t, s.Add(ctx, a, supervisor.ChildSpec{ID: "a", Restart: first.typ, Significant: true}))
					must(t, s.Add(ctx, b, supervisor.ChildSpec{ID: "b", Restart: last.typ, Significant: true}))
					must(t, service.Start(ctx, s))
					defer func() { _ = s.Stop(ctx) }()

					// await waits for the auto-shutdown when it is due, else
					// for the supervisor to have handled the exit (settle).
					await := func(down bool, after string) {
						t.Helper()
						if !down {
							settle(t, ctx, s, ev)
							if st := s.State(); st != service.Running {
								t.Fatalf("after %s: supervisor %v, want running", after, st)
							}
							return
						}
						if err := s.WaitUntilStopped(ctx); err != nil {
							t.Fatalf("after %s: no auto-shutdown: %v (supervisor %v)", after, err, s.State())
						}
						if st, why := s.State(), s.CrashReason(); st != service.Shutdown || why != nil {
							t.Errorf("after %s: supervisor %v (crash reason %v), want a normal shutdown", after, st, why)
						}
					}
					end(t, a, first)
					if auto == supervisor.AnySignificant {
						await(forGood(first), "a "+name(first))
						return
					}
					await(false, "a "+name(first))
					end(t, b, last)
					await(forGood(first) && forGood(last), "b "+name(last))
				})
			}
		}
	}
}
