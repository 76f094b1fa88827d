package supervisor_test

// Review 21: the children step of a plain Base parent (6723368) meets
// supervisors: marks a supervisor's start leaves on its children, and a
// grandchild restarting itself while a supervisor restarts its parent.

import (
	"context"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestReview21ChildMovedFromSupervisor: a child added at run time to a
// plain parent during that parent's children step is not one the step
// starts: its own Restart is let through (the rollback of that start
// would stop it). A child that came from a supervisor was refused with
// ErrNotStarted, and left stopped under a parent about to run: the
// supervisor's start marked its children unreached (beginKidsLocked) and
// its machinery, which starts them, never cleared the marks.
func TestReview21ChildMovedFromSupervisor(t *testing.T) {
	for _, from := range []string{"fresh", "moved from a supervisor"} {
		t.Run(from, func(t *testing.T) {
			ctx := bg(t)
			k := newD("k")
			if from != "fresh" {
				sup := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, nil)
				must(t, sup.Add(ctx, k))
				must(t, service.Start(ctx, sup))
				must(t, sup.Remove(ctx, k))
				must(t, sup.Stop(ctx))
			}
			p, s1 := newD("p"), newD("s1")
			must(t, p.AddDependency(s1))
			res := make(chan error, 1)
			s1.onStart = func(hctx context.Context, n int32) error {
				if n == 1 { // p's children step, at s1
					if err := p.AddRuntimeDependency(hctx, k); err != nil {
						return err
					}
					res <- k.Restart(hctx)
				}
				return nil
			}
			must(t, service.Start(ctx, p))
			defer func() { must(t, p.Stop(ctx)) }()
			if err := <-res; err != nil {
				t.Fatalf("k.Restart, added at run time during p's children step: %v", err)
			}
			if st := k.State(); st != service.Running {
				t.Fatalf("k %v under p %v: want running", st, p.State())
			}
		})
	}
}
