package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// churner is a child whose hooks, when armed, ask its supervisor for
// Add, Remove, Terminate and RestartChild of its siblings (queued: they
// run on the supervisor's goroutine after the hook).
type churner struct {
	service.Base
	sup   *supervisor.Supervisor
	armed *atomic.Bool
	n     *atomic.Int64
}

func (c *churner) OnStart(ctx context.Context) error {
	if c.armed.Load() {
		c.poke(ctx)
	}
	return nil
}

func (c *churner) OnStop(ctx context.Context) error {
	if c.armed.Load() {
		c.poke(ctx)
	}
	return nil
}

func (c *churner) poke(ctx context.Context) {
	k := c.n.Add(1)
	id := fmt.Sprintf("r%d", k%4)
	switch k % 4 {
	case 0:
		_ = c.sup.RestartChild(ctx, id)
	case 1:
		_ = c.sup.Terminate(ctx, id)
	case 2:
		_ = c.sup.Add(ctx, newWorker(fmt.Sprintf("x%d", k)), supervisor.ChildSpec{Restart: strategy.Temporary})
	case 3:
		if s := c.sup.Child(fmt.Sprintf("x%d", k-1)); s != nil {
			_ = c.sup.Remove(ctx, s)
		}
	}
}

// TestReview14OwnRaces: the supervisor's goroutine reads its children's
// service and handle without the lock (own) while Replacement children are
// replaced at each restart and other goroutines, and the children's own
// hooks, Add, Remove, Terminate and RestartChild, read Children, Child and
// Dump. Run under -race -count=20: a write of a child's service off the
// supervisor's goroutine shows as a race; every child left is running or
// terminated, with the service Child(id) names.
func TestReview14OwnRaces(t *testing.T) {
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		t.Run(fmt.Sprint(st), func(t *testing.T) {
			ctx := bg(t)
			sup := newSup(supervisor.Spec{Strategy: st, MaxRestarts: 1 << 20, Window: time.Hour}, nil)
			var armed atomic.Bool
			var n atomic.Int64
			mk := func(id string) service.Service {
				c := &churner{sup: sup, armed: &armed, n: &n}
				c.Configure(service.Config{Name: id, Logger: &quiet})
				return c
			}
			for i := range 4 {
				id := fmt.Sprintf("r%d", i)
				must(t, sup.Add(ctx, mk(id), supervisor.ChildSpec{ID: id, Replacement: func() service.Service { return mk(id) }}))
			}
			must(t, service.Start(ctx, sup))
			armed.Store(true)
			deadline := time.Now().Add(150 * time.Millisecond)
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := 0; time.Now().Before(deadline); i++ {
						id := fmt.Sprintf("r%d", (g+i)%4)
						switch (g + i) % 6 {
						case 0:
							if s := sup.Child(id); s != nil {
								s.(*churner).Crash(errBoom)
							}
						case 1:
							_ = sup.RestartChild(ctx, id)
						case 2:
							_ = sup.Terminate(ctx, id)
						case 3:
							x := newWorker(fmt.Sprintf("y%d-%d", g, i))
							if sup.Add(ctx, x, supervisor.ChildSpec{Restart: strategy.Transient}) == nil && i%2 == 0 {
								_ = sup.Remove(ctx, x)
							}
						case 4:
							for _, ci := range sup.Children() {
								_ = ci.Service.Label()
							}
							_ = sup.DumpInfo()
						case 5:
							if s := sup.Child(id); s != nil {
								_ = s.Restart(ctx) // routed to the supervisor
							}
						}
					}
				})
			}
			wg.Wait()
			armed.Store(false)
			restarts := 0
			for _, ci := range sup.Children() {
				restarts += ci.RestartCount
			}
			if restarts == 0 || n.Load() == 0 {
				t.Errorf("no churn: %d restarts, %d hook calls", restarts, n.Load())
			}
			t.Logf("%d restarts, %d hook calls, %d children", restarts, n.Load(), len(sup.Children()))
			if err := sup.Stop(ctx); err != nil && !errors.Is(err, supervisor.ErrMaxRestarts) {
				t.Fatal(err)
			}
			for _, ci := range sup.Children() {
				if got := sup.Child(ci.ID); got != ci.Service {
					t.Errorf("Child(%q) = %p, Children says %p", ci.ID, got, ci.Service)
				}
				if st := ci.Service.State(); st == service.Running || st == service.Starting || st == service.Stopping {
					t.Errorf("%s is %v after the supervisor's Stop", ci.ID, st)
				}
			}
		})
	}
}

// TestReview14ZeroValueSupervisor: a Supervisor{} (not made by New: no
// cached backoff switch, default spec) runs children, restarts crashed
// ones (plain and Replacement), reports events to an observer, stops,
// and runs again.
func TestReview14ZeroValueSupervisor(t *testing.T) {
	ctx := bg(t)
	var sup supervisor.Supervisor
	sup.Configure(service.Config{Name: "zero", Logger: &quiet})
	tr := &transcript{}
	detach, err := service.Observe(&sup, evObserver{tr})
	must(t, err)
	defer detach()
	a := newWorker("a")
	must(t, sup.Add(ctx, a))
	must(t, sup.Add(ctx, newWorker("b"), supervisor.ChildSpec{Replacement: func() service.Service { return newWorker("b") }}))
	for round := range 2 {
		if round == 0 {
			must(t, service.Start(ctx, &sup))
		} else {
			must(t, sup.Restart(ctx)) // from Shutdown
		}
		a.Crash(errBoom)
		waitCounts(t, &sup, map[string]int{"a": 2*round + 1, "b": round})
		sup.Child("b").(*worker).Crash(errBoom)
		waitCounts(t, &sup, map[string]int{"a": 2*round + 1, "b": round + 1})
		a.Crash(errBoom)
		waitCounts(t, &sup, map[string]int{"a": 2*round + 2, "b": round + 1})
		must(t, sup.Stop(ctx))
		if st := sup.State(); st != service.Shutdown {
			t.Fatalf("state %v after Stop", st)
		}
		if sup.Spec().Backoff.Enabled() {
			t.Fatal("zero value has a backoff")
		}
	}
	if got := len(tr.get()); got != 12 { // 6 crashes, 6 restarts
		t.Errorf("%d events: %v", got, tr.get())
	}
}
