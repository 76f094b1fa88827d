package service

import (
	"context"
	"slices"
	"time"

	"github.com/gomode/mode/internal/logline"
)

// rollback undoes a failed start as a Stop of what started: OnStop (if
// OnStart's step passed), the machinery, the children started (stopped in
// reverse, then reset to Init), the tasks (cancelled and joined), the exit
// stack, OnShutdown (if OnStart's step passed). It is bounded by the stop
// budget, not by the start ctx, which may have expired. The state goes
// back to Init.
func (b *Base) rollback(ctx context.Context, r *run, v *view, p progress, cause error, lim time.Duration) {
	b.mu.Lock()
	r.setReason(cause, false) // why this run ended (WaitStarted reports it)
	b.mu.Unlock()
	r.halt(runStopped, cause)
	kids := p.started
	if v.mach == nil {
		// Children added and started at run time since the children step
		// (AddRuntimeDependency from a task) are undone too, and so is a
		// child's own Restart in progress (let through once the step
		// began: see parentDown), which this stop aborts or waits for,
		// and so is one started during the start before its children
		// step (by OnStart, to use it at once), whether that step began
		// or not: every child but those that ran before this start, or
		// that are down and idle.
		ran := p.running
		if !p.kidsOn {
			b.mu.Lock()
			ran = append(slices.Clip(v.kidsUp), r.takeAddedUp()...)
			b.mu.Unlock()
		}
		began := baseSet(p.started)
		ranSet := baseSet(ran)
		kids = slices.DeleteFunc(b.childrenSnapshot(), func(c Service) bool {
			cb := c.base()
			if _, ok := ranSet[cb]; ok {
				return true
			}
			_, ok := began[cb]
			return !ok && cb.idleDown()
		})
	}
	plan := stopPlan{hooks: p.onStartOK, mach: p.machOn, kids: kids, rollback: true}
	if err := b.stopSteps(context.WithoutCancel(ctx), r, v, newLimit(context.Background(), &v.cfg, lim), plan); err != nil {
		logline.Err(b.Log().Warn, err, "rolling back a failed start")
	}
	b.Log().Debug().Err(cause).Msg("start rolled back")
}
