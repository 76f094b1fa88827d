package supervisor_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestReview15CallbackLaterRuns: the seam names a supervisor's goroutine
// once per run (45faee9). On the second and third run of a supervisor
// (a Restart, a Stop and a Restart from Shutdown: each a new goroutine),
// nested under a parent supervisor or not, OnEvent and a Replacement that
// stop or restart the supervisor or its parent do not wait for the
// goroutine they run on: the call returns at once and the stop or restart
// happens.
func TestReview15CallbackLaterRuns(t *testing.T) {
	type call struct {
		name string
		// do calls from the callback; the target (sup, or parent when
		// onParent) then stops (stops) or is restarted.
		do       func(ctx context.Context, sup, parent *supervisor.Supervisor) error
		onParent bool
		stops    bool
	}
	calls := []call{
		{name: "sup.Stop", do: func(ctx context.Context, sup, _ *supervisor.Supervisor) error { return sup.Stop(ctx) }, stops: true},
		{name: "sup.Restart", do: func(ctx context.Context, sup, _ *supervisor.Supervisor) error { return sup.Restart(ctx) }},
		{name: "parent.Stop", do: func(ctx context.Context, _, parent *supervisor.Supervisor) error { return parent.Stop(ctx) }, onParent: true, stops: true},
		{name: "parent.Restart", do: func(ctx context.Context, _, parent *supervisor.Supervisor) error { return parent.Restart(ctx) }, onParent: true},
	}
	sites := []string{"OnEvent", "Replacement"}
	for _, nested := range []bool{false, true} {
		for _, run := range []int{2, 3} {
			for _, site := range sites {
				for _, c := range calls {
					if c.onParent && !nested {
						continue
					}
					name := site + "/" + c.name
					if nested {
						name = "nested/" + name
					}
					name += "/run" + string(rune('0'+run))
					t.Run(name, func(t *testing.T) {
						ctx := bg(t)
						var armed atomic.Bool
						fired := make(chan error, 1)
						var once sync.Once
						var sup, parent *supervisor.Supervisor
						fire := func() {
							if !armed.Load() {
								return
							}
							once.Do(func() {
								cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
								defer cancel()
								began := time.Now()
								err := c.do(cctx, sup, parent)
								if d := time.Since(began); d > time.Second {
									t.Errorf("%s from %s took %v: %v", c.name, site, d, err)
								}
								fired <- err
							})
						}
						spec := supervisor.Spec{MaxRestarts: 100, Window: time.Minute}
						if site == "OnEvent" {
							spec.OnEvent = func(e supervisor.Event) {
								if e.Kind == supervisor.ChildRestarted {
									fire()
								}
							}
						}
						sup = newSup(spec, nil)
						a := newWorker("a")
						cs := supervisor.ChildSpec{}
						if site == "Replacement" {
							cs.Replacement = func() service.Service { fire(); return newWorker("a") }
						}
						must(t, sup.Add(ctx, a, cs))
						root := service.Service(sup)
						if nested {
							parent = newSup(supervisor.Spec{MaxRestarts: 100, Window: time.Minute}, nil)
							must(t, parent.Add(ctx, sup))
							root = parent
						}
						must(t, service.Start(ctx, root))
						// Runs 2 and 3 of sup, each on a new goroutine.
						must(t, sup.Restart(ctx))
						if run == 3 {
							must(t, sup.Stop(ctx))
							if nested {
								// A supervised child's Stop is its normal
								// exit: the parent starts it again.
								waitState(t, sup, service.Running)
							} else {
								must(t, sup.Restart(ctx))
							}
						}
						waitState(t, sup, service.Running)
						target := sup
						if c.onParent {
							target = parent
						}
						before := target.RestartCount()
						armed.Store(true)
						sup.Child("a").Crash(errBoom)
						var err error
						select {
						case err = <-fired:
						case <-time.After(10 * time.Second):
							t.Fatal("the callback did not run")
						}
						_ = err // queued (nil) or refused: either way at once
						if c.stops {
							if !nested || c.onParent {
								waitState(t, target, service.Shutdown)
							}
						} else {
							deadline := time.Now().Add(10 * time.Second)
							for target.RestartCount() == before || target.State() != service.Running {
								if time.Now().After(deadline) {
									t.Fatalf("%s not restarted: RestartCount %d (was %d), %v", target.Label(), target.RestartCount(), before, target.State())
								}
								time.Sleep(time.Millisecond)
							}
						}
						must(t, root.Stop(ctx))
					})
				}
			}
		}
	}
}

// waitState waits until s is in state want.
func waitState(t *testing.T, s service.Service, want service.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %v, want %v", s.Label(), s.State(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
