package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/thejerf/suture/v4"
)

// Review 18: a hostile review of ee49586 (an Add whose caller gave up is
// taken back), 00f08d4 (a Temporary significant child's crash ends the
// supervisor), 72dc955 (the goroutine a Stop abandoned is recorded) and,
// in package service, 7cb926d (no Restart behind a stopping parent).

// r18Bound is the generous bound of a call that must return at once (a
// watchdog, not a pace).
const r18Bound = 5 * time.Second

// r18Hook is a supervisor whose OnEvent feeds ev and hangs, once, on the
// first event for which hangOn reports true, until unhang.
type r18Hook struct {
	sup    *supervisor.Supervisor
	ev     *events
	hung   chan struct{}
	unhang func()
}

func newR18Hook(spec supervisor.Spec, hangOn func(supervisor.Event) bool) *r18Hook {
	h := &r18Hook{ev: newEvents(), hung: make(chan struct{})}
	release := make(chan struct{})
	var once, rel sync.Once
	h.unhang = func() { rel.Do(func() { close(release) }) }
	if spec.Service.Logger == nil {
		spec.Service.Logger = &quiet
	}
	spec.OnEvent = func(e supervisor.Event) {
		h.ev.hook(e)
		if hangOn != nil && hangOn(e) {
			hang := false
			once.Do(func() { hang = true; close(h.hung) })
			if hang {
				<-release
			}
		}
	}
	h.sup = supervisor.New(spec)
	return h
}

// r18NotAdded checks the outcome of an Add that returned an error, once the
// supervisor has handled everything queued (settle): w is no child, is
// not running, has no parent, and can be added again.
func r18NotAdded(t *testing.T, ctx context.Context, s *supervisor.Supervisor, ev *events, w service.Service, id string) {
	t.Helper()
	settle(t, ctx, s, ev)
	if ci, ok := childInfo(t, s, id); ok {
		t.Errorf("Add failed, yet %q is a child: %+v", id, ci)
	}
	if st := w.State(); st == service.Running || st == service.Starting {
		t.Errorf("Add failed, yet %q is %v", id, st)
	}
	if p := w.Node().Parent(); p != nil && p.Value() != nil {
		t.Errorf("Add failed, yet %q is still attached under %v", id, p.Value())
	}
	if err := s.Add(ctx, w, supervisor.ChildSpec{ID: id}); err != nil {
		t.Errorf("Add again after the failed Add: %v", err)
	} else if st := w.State(); st != service.Running {
		t.Errorf("added again: %v, want running", st)
	}
}

// r18Added checks the outcome of an Add that returned nil: w is a child
// and runs.
func r18Added(t *testing.T, ctx context.Context, s *supervisor.Supervisor, ev *events, w service.Service, id string) {
	t.Helper()
	settle(t, ctx, s, ev)
	n := 0
	for _, ci := range s.Children() {
		if ci.ID == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Add returned nil, yet %q is %d children", id, n)
	}
	if st := w.State(); st != service.Running {
		t.Errorf("Add returned nil, yet %q is %v", id, st)
	}
}

// TestReview18AddCtxEndsAnywhere: an Add's ctx ends at each point of the
// request (queued behind a busy goroutine, during a start that honours
// its ctx or ignores it, once the child runs, after the answer), for each
// kind of child spec. The caller returns promptly; its error says whether
// the child was added, and is never contradicted afterwards.
func TestReview18AddCtxEndsAnywhere(t *testing.T) {
	points := []string{"queued", "start honours ctx", "start ignores ctx", "running", "after the answer"}
	specs := map[string]func(id string) supervisor.ChildSpec{
		"permanent": func(id string) supervisor.ChildSpec { return supervisor.ChildSpec{ID: id} },
		"temporary": func(id string) supervisor.ChildSpec {
			return supervisor.ChildSpec{ID: id, Restart: strategy.Temporary}
		},
		"replacement": func(id string) supervisor.ChildSpec {
			return supervisor.ChildSpec{ID: id, Replacement: func() service.Service { return newD(id) }}
		},
	}
	for _, point := range points {
		for sname, spec := range specs {
			t.Run(point+"/"+sname, func(t *testing.T) {
				ctx := bg(t)
				ev := newEvents()
				s := newSup(supervisor.Spec{MaxRestarts: 10}, ev)
				blocker := newD("blocker")
				stopEntered, stopRelease := make(chan struct{}), make(chan struct{})
				var stopOnce sync.Once
				blocker.onStop = func(context.Context, int32) error {
					stopOnce.Do(func() { close(stopEntered); <-stopRelease })
					return nil
				}
				must(t, s.Add(ctx, blocker, supervisor.ChildSpec{ID: "blocker"}))
				must(t, service.Start(ctx, s))
				defer func() { _ = s.Stop(ctx) }()

				w := newD("w")
				actx, cancel := context.WithCancel(ctx)
				defer cancel()
				entered, release := make(chan struct{}), make(chan struct{})
				var relOnce sync.Once
				unblock := func() { relOnce.Do(func() { close(release) }) }
				defer unblock()
				returned := make(chan struct{})
				var enterOnce sync.Once
				switch point {
				case "start honours ctx":
					w.onStart = func(c context.Context, n int32) error {
						if n == 1 {
							enterOnce.Do(func() { close(entered) })
							<-c.Done()
							return c.Err()
						}
						return nil
					}
				case "start ignores ctx":
					w.onStart = func(_ context.Context, n int32) error {
						if n == 1 {
							enterOnce.Do(func() { close(entered) })
							<-release
						}
						return nil
					}
				case "running":
					race := &addRace{cancel: cancel, returned: returned, down: make(chan struct{})}
					detach, err := service.Observe(w, race)
					must(t, err)
					defer detach()
				}
				var terminated chan error
				if point == "queued" {
					terminated = make(chan error, 1)
					go func() { terminated <- s.Terminate(ctx, "blocker") }()
					recv(t, stopEntered, "blocker's OnStop")
				}
				addErr := make(chan error, 1)
				go func() { addErr <- s.Add(actx, w, spec("w")) }()
				switch point {
				case "queued":
					cancel()
				case "start honours ctx", "start ignores ctx":
					recv(t, entered, "w's OnStart")
					cancel()
				}
				var err error
				select {
				case err = <-addErr:
				case <-time.After(r18Bound):
					t.Fatalf("Add still waits %v after its ctx ended (%s)", r18Bound, point)
				}
				close(returned)
				unblock()
				close(stopRelease)
				if terminated != nil {
					must(t, recv(t, terminated, "Terminate of blocker"))
				}
				if point == "after the answer" {
					must(t, err)
					cancel()
				}
				t.Logf("Add: %v", err)
				if err == nil {
					r18Added(t, ctx, s, ev, w, "w")
					return
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Add: %v, want nil or context.Canceled", err)
				}
				r18NotAdded(t, ctx, s, ev, w, "w")
			})
		}
	}
}

// TestReview18AddWhileOnEventHangs: the supervisor's goroutine hangs in
// OnEvent; an Add with a short deadline returns by it (plus a small
// bound), and the child it could not add is never added later.
func TestReview18AddWhileOnEventHangs(t *testing.T) {
	ctx := bg(t)
	h := newR18Hook(supervisor.Spec{MaxRestarts: 10}, func(e supervisor.Event) bool {
		return e.Kind == supervisor.ChildCrashed && e.Child == "x"
	})
	defer h.unhang()
	x := newD("x")
	must(t, h.sup.Add(ctx, x, supervisor.ChildSpec{ID: "x"}))
	must(t, service.Start(ctx, h.sup))
	defer func() { _ = h.sup.Stop(ctx) }()
	x.Crash(errBoom)
	recv(t, h.hung, "the hang in OnEvent")

	w := newD("w")
	actx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	err := returnsWithin(t, r18Bound, func() error { return h.sup.Add(actx, w, supervisor.ChildSpec{ID: "w"}) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Add while OnEvent hangs: %v, want DeadlineExceeded", err)
	}
	h.unhang()
	r18NotAdded(t, ctx, h.sup, h.ev, w, "w")
}

// r18Gated is a child whose Config blocks, once armed, until its gate is
// opened: the supervisor reads the configured name of a child it adds
// before it registers it, so an Add can be held between its look at the
// supervisor's goroutine (none runs) and the registration (one runs now):
// addDirect's "late" path.
type r18Gated struct {
	dsvc
	armed   atomic.Bool
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func newR18Gated(name string) *r18Gated {
	g := &r18Gated{entered: make(chan struct{}), gate: make(chan struct{})}
	g.Configure(service.Config{Name: name, Logger: &quiet})
	g.armed.Store(true)
	return g
}

func (g *r18Gated) Config() service.Config {
	if g.armed.Load() {
		g.once.Do(func() {
			close(g.entered)
			<-g.gate
			g.armed.Store(false)
		})
	}
	return g.dsvc.Config()
}

// TestReview18AddLateRegistration: an Add begun before the supervisor's
// start registers its child once the goroutine runs (addDirect's late
// path). With its ctx live it is added and started once; with its ctx
// ended first it is not added; queued behind a busy goroutine and
// overtaken by the supervisor's Stop, it is registered (it starts with the
// supervisor): Add's answer holds in each case.
func TestReview18AddLateRegistration(t *testing.T) {
	for _, how := range []string{"live", "ctx ended", "supervisor stops"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{MaxRestarts: 10}, ev)
			blocker := newD("blocker")
			stopEntered, stopRelease := make(chan struct{}), make(chan struct{})
			var stopOnce, relOnce sync.Once
			unblock := func() { relOnce.Do(func() { close(stopRelease) }) }
			blocker.onStop = func(context.Context, int32) error {
				stopOnce.Do(func() { close(stopEntered); <-stopRelease })
				return nil
			}
			must(t, s.Add(ctx, blocker, supervisor.ChildSpec{ID: "blocker"}))

			g := newR18Gated("g")
			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			addErr := make(chan error, 1)
			go func() { addErr <- s.Add(actx, g) }() // no ID: its configured name is read
			recv(t, g.entered, "g's Config (Add before the start)")
			must(t, service.Start(ctx, s))
			defer func() { _ = s.Stop(ctx) }()
			defer unblock() // before the Stop
			var stopped chan error
			switch how {
			case "ctx ended":
				cancel()
			case "supervisor stops":
				go func() { _ = s.Terminate(ctx, "blocker") }()
				recv(t, stopEntered, "blocker's OnStop")
			}
			close(g.gate)
			if how == "supervisor stops" {
				// g registers and its request queues behind blocker's stop.
				for _, ok := childInfo(t, s, "g"); !ok; _, ok = childInfo(t, s, "g") {
					runtime.Gosched()
				}
				stopped = make(chan error, 1)
				go func() { stopped <- s.Stop(ctx) }()
				for s.State() != service.Stopping {
					runtime.Gosched()
				}
				unblock()
			}
			err := recv(t, addErr, "Add")
			t.Logf("Add: %v", err)
			switch how {
			case "live":
				must(t, err)
				r18Added(t, ctx, s, ev, g, "g")
				if n := g.starts.Load(); n != 1 {
					t.Errorf("g started %d times, want 1", n)
				}
			case "ctx ended":
				if err == nil {
					r18Added(t, ctx, s, ev, g, "g")
					return
				}
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Add: %v, want nil or context.Canceled", err)
				}
				r18NotAdded(t, ctx, s, ev, g, "g")
			case "supervisor stops":
				must(t, recv(t, stopped, "the supervisor's Stop"))
				_, ok := childInfo(t, s, "g")
				switch {
				case err == nil && !ok:
					t.Errorf("Add returned nil, yet g is no child of the stopped supervisor")
				case err != nil && ok:
					t.Errorf("Add returned %v, yet g is a child of the stopped supervisor", err)
				}
				if err == nil { // it starts with the supervisor
					must(t, s.Restart(ctx))
					r18Added(t, ctx, s, ev, g, "g")
				}
			}
		})
	}
}

// TestReview18RemoveDuringAdd: a Remove of a child whose Add is still
// starting it (its OnStart holds) races the Add's caller giving up. Each
// outcome agrees with what the callers were told: in the end the child is
// no child, does not run, has no parent, and is removed at most once.
func TestReview18RemoveDuringAdd(t *testing.T) {
	for _, giveUp := range []bool{false, true} {
		t.Run(fmt.Sprintf("caller gives up=%v", giveUp), func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{MaxRestarts: 10}, ev)
			must(t, service.Start(ctx, s))
			defer func() { _ = s.Stop(ctx) }()
			w := newD("w")
			entered, release := make(chan struct{}), make(chan struct{})
			w.onStart = func(_ context.Context, n int32) error {
				if n == 1 {
					close(entered)
					<-release
				}
				return nil
			}
			actx, cancel := context.WithCancel(ctx)
			defer cancel()
			addErr := make(chan error, 1)
			go func() { addErr <- s.Add(actx, w, supervisor.ChildSpec{ID: "w"}) }()
			recv(t, entered, "w's OnStart")
			removeErr := make(chan error, 1)
			go func() { removeErr <- s.Remove(ctx, w) }()
			if giveUp {
				cancel()
				if err := recv(t, addErr, "Add"); !errors.Is(err, context.Canceled) {
					t.Errorf("Add: %v, want context.Canceled", err)
				}
				addErr <- nil // checked
			}
			close(release)
			aerr := recv(t, addErr, "Add")
			rerr := recv(t, removeErr, "Remove")
			t.Logf("Add: %v; Remove: %v", aerr, rerr)
			if !giveUp {
				must(t, aerr)
			}
			settle(t, ctx, s, ev)
			if _, ok := childInfo(t, s, "w"); ok {
				t.Errorf("w is still a child (Add %v, Remove %v)", aerr, rerr)
			}
			if st := w.State(); st == service.Running {
				t.Errorf("w runs (Add %v, Remove %v)", aerr, rerr)
			}
			if n := ev.count(supervisor.ChildRemoved, "w"); n > 1 {
				t.Errorf("w removed %d times", n)
			}
			if rerr == nil && ev.count(supervisor.ChildRemoved, "w") != 1 {
				t.Errorf("Remove returned nil without a ChildRemoved event: %v", ev)
			}
			if rerr != nil && !errors.Is(rerr, supervisor.ErrNoChild) {
				t.Errorf("Remove: %v, want nil or ErrNoChild", rerr)
			}
		})
	}
}

// TestReview18AddChaos: many Adds with tiny random deadlines race starts
// that take a while (and ignore their ctx for part of it). Once the
// supervisor settles, every Add that returned nil left a running child
// and every Add that failed left none, detached (can be added to another
// supervisor).
func TestReview18AddChaos(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{MaxRestarts: 10}, ev)
	must(t, service.Start(ctx, s))
	defer func() { _ = s.Stop(ctx) }()
	const callers, each = 6, 25
	type result struct {
		w   *dsvc
		id  string
		err error
	}
	results := make(chan result, callers*each)
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", c, i)
				w := newD(id)
				spins := rand.IntN(200)
				w.onStart = func(context.Context, int32) error {
					for range spins {
						runtime.Gosched()
					}
					return nil
				}
				actx, cancel := context.WithTimeout(ctx, time.Duration(rand.IntN(2000))*time.Microsecond)
				err := s.Add(actx, w, supervisor.ChildSpec{ID: id})
				cancel()
				results <- result{w, id, err}
			}
		})
	}
	wg.Wait()
	close(results)
	settle(t, ctx, s, ev)
	other := newSup(supervisor.Spec{}, nil)
	must(t, service.Start(ctx, other))
	defer func() { _ = other.Stop(ctx) }()
	var added, failed int
	for r := range results {
		_, ok := childInfo(t, s, r.id)
		st := r.w.State()
		if r.err == nil {
			added++
			if !ok || st != service.Running {
				t.Errorf("%s: Add returned nil; child=%v state=%v", r.id, ok, st)
			}
			continue
		}
		failed++
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("%s: Add: %v", r.id, r.err)
		}
		if ok || st == service.Running {
			t.Errorf("%s: Add returned %v; child=%v state=%v", r.id, r.err, ok, st)
		}
		if err := other.Add(ctx, r.w); err != nil {
			t.Errorf("%s: after its failed Add, adding it elsewhere: %v", r.id, err)
		}
	}
	t.Logf("added %d, failed %d", added, failed)
}

// TestReview18TemporarySignificantCrash: a Temporary significant child's
// crash ends the supervisor normally under AnySignificant, under every
// strategy and with a backoff pending for a sibling: no bystander is
// restarted first, the intensity limit is not involved, and the
// supervisor's crash reason stays nil. Under AllSignificant another
// significant child still running keeps it up until that one ends. A
// Terminate of the child does not count.
func TestReview18TemporarySignificantCrash(t *testing.T) {
	type tc struct {
		strat   strategy.Strategy
		auto    supervisor.AutoShutdown
		backoff bool // p crashed before and waits out a long backoff
		how     string
	}
	var cases []tc
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		for _, auto := range []supervisor.AutoShutdown{supervisor.AnySignificant, supervisor.AllSignificant} {
			for _, b := range []bool{false, true} {
				if b && st != strategy.OneForOne {
					continue // a group restart of p stops t and removes it (Temporary)
				}
				for _, how := range []string{"crash", "terminate", "terminate tree"} {
					cases = append(cases, tc{st, auto, b, how})
				}
			}
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v/%v/backoff=%v/%s", c.strat, c.auto, c.backoff, c.how), func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			spec := supervisor.Spec{Strategy: c.strat, AutoShutdown: c.auto, MaxRestarts: 1, Window: time.Hour}
			if c.backoff {
				spec.Backoff = strategy.Backoff{Min: time.Hour, Max: time.Hour}
			}
			s := newSup(spec, ev)
			// p before t, u after: bystanders of t on either side.
			p, tmp, u := newD("p"), newD("t"), newD("u")
			must(t, s.Add(ctx, p, supervisor.ChildSpec{ID: "p"}))
			must(t, s.Add(ctx, tmp, supervisor.ChildSpec{ID: "t", Restart: strategy.Temporary, Significant: true}))
			must(t, s.Add(ctx, u, supervisor.ChildSpec{ID: "u", Restart: strategy.Transient, Significant: true}))
			must(t, service.Start(ctx, s))
			defer func() { _ = s.Stop(ctx) }()
			if c.backoff {
				p.Crash(errBoom)
				ev.wait(t, supervisor.BackoffStarted, "", 1)
			}
			restartsBefore := ev.count(supervisor.ChildRestarted, "")
			switch c.how {
			case "crash":
				tmp.Crash(errBoom)
			case "terminate":
				must(t, s.Terminate(ctx, "t"))
			case "terminate tree":
				tmp.Crash(fmt.Errorf("wrapped: %w", suture.ErrTerminateSupervisorTree))
			}
			shutdown := c.how == "crash" && c.auto == supervisor.AnySignificant
			if c.how == "terminate tree" {
				err := s.WaitUntilStopped(ctx)
				if !errors.Is(err, suture.ErrTerminateSupervisorTree) {
					t.Fatalf("ErrTerminateSupervisorTree: %v (supervisor %v)", err, s.State())
				}
				if s.CrashReason() == nil {
					t.Errorf("ErrTerminateSupervisorTree from a significant child ended the supervisor normally")
				}
				return
			}
			if !shutdown {
				settle(t, ctx, s, ev)
				if st := s.State(); st != service.Running {
					t.Fatalf("supervisor %v after %s of t, want running", st, c.how)
				}
				if c.auto != supervisor.AllSignificant || c.how != "crash" {
					return
				}
				must(t, u.Stop(ctx)) // the last significant child ends on its own
			}
			if err := s.WaitUntilStopped(ctx); err != nil {
				t.Fatalf("no auto-shutdown: %v (supervisor %v)", err, s.State())
			}
			if st, why := s.State(), s.CrashReason(); st != service.Shutdown || why != nil {
				t.Errorf("supervisor %v (crash reason %v), want a normal shutdown", st, why)
			}
			if n := ev.count(supervisor.ChildRestarted, ""); n != restartsBefore {
				t.Errorf("%d restarts before the auto-shutdown: %v", n-restartsBefore, ev)
			}
			if n := ev.count(supervisor.MaxRestartsExceeded, ""); n != 0 {
				t.Errorf("gave up: %v", ev)
			}
		})
	}
}

// TestReview18NestedTemporarySignificantCrash: a child supervisor that
// gives up (crashes) as a Temporary significant child ends its parent
// normally (OTP: shutdown), and its parent's bystanders are stopped once,
// not restarted.
func TestReview18NestedTemporarySignificantCrash(t *testing.T) {
	for _, strat := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll} {
		t.Run(strat.String(), func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			parent := newSup(supervisor.Spec{Strategy: strat, AutoShutdown: supervisor.AnySignificant, MaxRestarts: 5}, ev)
			inner := newSup(supervisor.Spec{Service: service.Config{Name: "inner", Logger: &quiet}, NeverRestart: true}, nil)
			leaf, by := newD("leaf"), newD("by")
			must(t, inner.Add(ctx, leaf, supervisor.ChildSpec{ID: "leaf"}))
			must(t, parent.Add(ctx, by, supervisor.ChildSpec{ID: "by"}))
			must(t, parent.Add(ctx, inner, supervisor.ChildSpec{ID: "inner", Restart: strategy.Temporary, Significant: true}))
			must(t, service.Start(ctx, parent))
			defer func() { _ = parent.Stop(ctx) }()
			leaf.Crash(errBoom) // inner gives up at once
			if err := parent.WaitUntilStopped(ctx); err != nil {
				t.Fatalf("no auto-shutdown: %v (parent %v)", err, parent.State())
			}
			if st, why := parent.State(), parent.CrashReason(); st != service.Shutdown || why != nil {
				t.Errorf("parent %v (crash reason %v), want a normal shutdown", st, why)
			}
			if n := by.starts.Load(); n != 1 {
				t.Errorf("bystander started %d times, want 1", n)
			}
			if st := by.State(); st != service.Shutdown {
				t.Errorf("bystander %v", st)
			}
		})
	}
}

// TestReview18AbandonedWhileOnEventHangsOnAnExit: the supervisor's
// goroutine hangs in OnEvent on the event of a child's exit, whatever the
// exit means (a restart, at once or after a backoff, a group restart, a
// removal). A Stop gives up on it and says it is busy with the exit of
// that child (not with a stop it finished), service.Abandoned lists it, a
// later Stop names it until it returns; then the supervisor stops cleanly,
// lists nothing, and starts again.
func TestReview18AbandonedWhileOnEventHangsOnAnExit(t *testing.T) {
	type tc struct {
		name    string
		strat   strategy.Strategy
		restart strategy.RestartType
		crash   bool
		backoff bool
	}
	cases := []tc{
		{"permanent crash", strategy.OneForOne, strategy.Permanent, true, false},
		{"permanent crash, backoff", strategy.OneForOne, strategy.Permanent, true, true},
		{"one-for-all crash", strategy.OneForAll, strategy.Permanent, true, false},
		{"temporary crash", strategy.OneForOne, strategy.Temporary, true, false},
		{"transient exit", strategy.OneForOne, strategy.Transient, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := bg(t)
			spec := supervisor.Spec{
				Service:     service.Config{Name: "sup", Logger: &quiet, StopTimeout: 100 * time.Millisecond},
				Strategy:    c.strat,
				MaxRestarts: 10,
			}
			if c.backoff {
				spec.Backoff = strategy.Backoff{Min: time.Millisecond, Max: time.Millisecond}
			}
			h := newR18Hook(spec, func(e supervisor.Event) bool {
				return (e.Kind == supervisor.ChildCrashed || e.Kind == supervisor.ChildExited) && e.Child == "x"
			})
			defer h.unhang()
			x, y := newD("x"), newD("y")
			must(t, h.sup.Add(ctx, y, supervisor.ChildSpec{ID: "y"}))
			must(t, h.sup.Add(ctx, x, supervisor.ChildSpec{ID: "x", Restart: c.restart}))
			must(t, service.Start(ctx, h.sup))
			if c.crash {
				x.Crash(errBoom)
			} else {
				must(t, x.Stop(ctx))
			}
			recv(t, h.hung, "the hang in OnEvent")
			err := h.sup.Stop(ctx)
			if !errors.Is(err, service.ErrStopTimeout) {
				t.Fatalf("Stop: %v, want ErrStopTimeout", err)
			}
			const want = "busy with the exit of x"
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Stop: %v\nwant it to say %q", err, want)
			}
			ab := service.Abandoned(h.sup)
			if len(ab) != 1 || !strings.Contains(ab[0].What, "its goroutine, "+want) {
				t.Errorf("Abandoned: %+v, want the goroutine %s", ab, want)
			}
			if err := h.sup.Stop(ctx); !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), want) {
				t.Errorf("second Stop: %v, want ErrStopTimeout naming the goroutine %s", err, want)
			}
			h.unhang()
			stopUntilReturned(t, ctx, h.sup, 20*time.Second)
			if ab := service.Abandoned(h.sup); len(ab) != 0 {
				t.Errorf("Abandoned after the goroutine returned: %+v", ab)
			}
			must(t, h.sup.Restart(ctx))
			defer func() { must(t, h.sup.Stop(ctx)) }()
			if st := y.State(); st != service.Running {
				t.Errorf("y after the supervisor's restart: %v", st)
			}
		})
	}
}

// TestReview18NestedRestartWhileGoroutineStuck: a child supervisor whose
// goroutine its Stop abandoned (stuck in OnEvent) is restarted by its
// parent (RestartChild after a Terminate): the restart fails with
// ErrStopTimeout in bounded time and nothing runs beside the stuck
// goroutine; the parent's Stop names it; once it returns, the parent
// restarts the child supervisor and its children run.
func TestReview18NestedRestartWhileGoroutineStuck(t *testing.T) {
	ctx := bg(t)
	h := newR18Hook(supervisor.Spec{
		Service:     service.Config{Name: "inner", Logger: &quiet, StopTimeout: 100 * time.Millisecond},
		MaxRestarts: 10,
	}, func(e supervisor.Event) bool { return e.Kind == supervisor.ChildCrashed && e.Child == "x" })
	defer h.unhang()
	x := newD("x")
	must(t, h.sup.Add(ctx, x, supervisor.ChildSpec{ID: "x"}))
	pev := newEvents()
	parent := newSup(supervisor.Spec{Service: service.Config{Name: "parent", Logger: &quiet}, MaxRestarts: 10}, pev)
	must(t, parent.Add(ctx, h.sup, supervisor.ChildSpec{ID: "inner"}))
	must(t, service.Start(ctx, parent))
	defer func() { _ = parent.Stop(ctx) }()
	x.Crash(errBoom)
	recv(t, h.hung, "the hang in OnEvent")
	if err := returnsWithin(t, r18Bound, func() error { return parent.Terminate(ctx, "inner") }); !errors.Is(err, service.ErrStopTimeout) {
		t.Fatalf("Terminate of the stuck supervisor: %v, want ErrStopTimeout", err)
	}
	err := returnsWithin(t, r18Bound, func() error { return parent.RestartChild(ctx, "inner") })
	if !errors.Is(err, service.ErrStopTimeout) {
		t.Errorf("RestartChild while its goroutine is stuck: %v, want ErrStopTimeout", err)
	}
	if st := h.sup.State(); st == service.Running || st == service.Starting {
		t.Errorf("inner %v beside its stuck goroutine", st)
	}
	if st := x.State(); st == service.Running || st == service.Starting {
		t.Errorf("x %v beside inner's stuck goroutine", st)
	}
	h.unhang()
	deadline := time.Now().Add(20 * time.Second)
	for err := parent.RestartChild(ctx, "inner"); err != nil; err = parent.RestartChild(ctx, "inner") {
		if !errors.Is(err, service.ErrStopTimeout) || time.Now().After(deadline) {
			t.Fatalf("RestartChild once the goroutine returned: %v", err)
		}
	}
	if st := x.State(); st != service.Running {
		t.Errorf("x after inner's restart: %v", st)
	}
	must(t, parent.Stop(ctx))
}

// TestReview18ParentStopNamesStuckChildGoroutine: a parent's Stop, while
// a terminated child supervisor's abandoned goroutine still hangs, names
// that goroutine (nothing outlives a Stop unless its error says so).
func TestReview18ParentStopNamesStuckChildGoroutine(t *testing.T) {
	ctx := bg(t)
	h := newR18Hook(supervisor.Spec{
		Service:     service.Config{Name: "inner", Logger: &quiet, StopTimeout: 100 * time.Millisecond},
		MaxRestarts: 10,
	}, func(e supervisor.Event) bool { return e.Kind == supervisor.ChildCrashed && e.Child == "x" })
	defer h.unhang()
	x := newD("x")
	must(t, h.sup.Add(ctx, x, supervisor.ChildSpec{ID: "x"}))
	parent := newSup(supervisor.Spec{Service: service.Config{Name: "parent", Logger: &quiet, StopTimeout: time.Second}}, nil)
	must(t, parent.Add(ctx, h.sup, supervisor.ChildSpec{ID: "inner"}))
	must(t, service.Start(ctx, parent))
	x.Crash(errBoom)
	recv(t, h.hung, "the hang in OnEvent")
	if err := parent.Terminate(ctx, "inner"); !errors.Is(err, service.ErrStopTimeout) {
		t.Fatalf("Terminate: %v", err)
	}
	err := parent.Stop(ctx)
	if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), "its goroutine") {
		t.Errorf("parent's Stop while inner's goroutine hangs: %v, want ErrStopTimeout naming it", err)
	}
	h.unhang()
	stopUntilReturned(t, ctx, parent, 20*time.Second)
}
