package supervisor_test

import (
	"context"
	"errors"
	"flag"
	"regexp"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"go.uber.org/goleak"
)

var (
	reOnly     = flag.String("reentrancy.run", "", "run only the re-entrancy cases whose name matches this regexp")
	reParallel = flag.Int("reentrancy.parallel", 32, "how many re-entrancy cases run at once (1: each case is also checked for goroutines left)")
)

// reentrancyMatrix is every public operation of service and supervisor
// called from inside every hook, task, OnEvent and Replacement of a child,
// on the child itself, its sibling, its supervisor and the supervisor's
// parent, during the initial start, a restart and the stop, under every
// strategy, with the ctx the calling code was given (OnEvent and
// Replacement get none and pass context.Background()).
//
// A smaller set (one-for-one) has the code pass context.Background()
// instead of its ctx. The docs promise it only this: it waits, "bounded
// only by the supervisor's budgets" (the stop budgets for stop hooks, the
// start ctx for the initial start's hooks, nothing but the supervisor's
// Stop for a restart's start hooks); so it never deadlocks beyond a budget
// plus slack, and a Stop with a deadline returns by its budget.
func reentrancyMatrix() []reCase {
	var out []reCase
	phases := []rePhase{phaseStart, phaseRestart, phaseStop}
	for _, st := range strategies {
		for _, ph := range phases {
			for _, site := range ph.sites() {
				for op := opStop; op <= opChild; op++ {
					for _, tg := range op.targets() {
						out = append(out, reCase{strat: st, phase: ph, site: site, op: op, target: tg})
					}
				}
			}
		}
	}
	// Spec.StopTogether changes how several children stop at once: a
	// restart's group stop and the supervisor's Stop.
	for _, st := range strategies {
		for _, ph := range []rePhase{phaseRestart, phaseStop} {
			for _, site := range ph.sites() {
				for op := opStop; op <= opChild; op++ {
					for _, tg := range op.targets() {
						out = append(out, reCase{strat: st, phase: ph, site: site, op: op, target: tg, together: true})
					}
				}
			}
		}
	}
	for _, ph := range phases {
		for _, site := range ph.sites() {
			if site.callback() {
				continue // they have no ctx of their own: covered above
			}
			for op := opStop; op <= opChild; op++ {
				if !op.takesCtx() {
					continue
				}
				for _, tg := range op.targets() {
					out = append(out, reCase{strat: strategy.OneForOne, phase: ph, site: site, op: op, target: tg, bg: true})
				}
			}
		}
	}
	return out
}

// TestReentrancyMatrix runs the matrix. Each case: the operation returns
// within its bound (at once when it is queued or read-only), with the
// documented result; the tree then reaches the documented state; the
// final Stop (with a deadline) returns within its budget; every service
// ends Shutdown (or Init, when a start was rolled back); the operation's
// caller has returned. -race checks the data races, goleak (here and in
// TestMain) the goroutines left.
//
// The cases run concurrently, -reentrancy.parallel at a time (their waits
// are mostly on budgets, not on CPU); each is then reported as a subtest.
// -reentrancy.run=REGEXP runs only some; -reentrancy.parallel=1 also checks
// each case for goroutines left.
func TestReentrancyMatrix(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var only *regexp.Regexp
	if *reOnly != "" {
		only = regexp.MustCompile(*reOnly)
	}
	var cases []reCase
	for _, c := range reentrancyMatrix() {
		if only == nil || only.MatchString(c.name()) {
			cases = append(cases, c)
		}
	}
	results := make([]chan []string, len(cases))
	for i := range results {
		results[i] = make(chan []string, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	if *reParallel > 1 {
		for range *reParallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					results[i] <- newScenario(cases[i]).run()
				}
			}()
		}
		go func() {
			for i := range cases {
				next <- i
			}
			close(next)
		}()
	}
	begin := time.Now()
	for i, c := range cases {
		t.Run(c.name(), func(t *testing.T) {
			var errs []string
			if *reParallel > 1 {
				errs = <-results[i]
			} else {
				ignore := goleak.IgnoreCurrent()
				errs = newScenario(c).run()
				if err := goleak.Find(ignore); err != nil {
					errs = append(errs, "goroutines left: "+err.Error())
				}
			}
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
	wg.Wait()
	t.Logf("%d cases in %v", len(cases), time.Since(begin).Round(time.Millisecond))
}

type stopResult struct {
	err error
	dur time.Duration
}

// stopTree stops the tree with a deadline, on a goroutine of its own.
func (sc *scenario) stopTree() <-chan stopResult {
	ch := make(chan stopResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), reOpBound)
		defer cancel()
		begin := time.Now()
		err := sc.root.Stop(ctx)
		ch <- stopResult{err, time.Since(begin)}
	}()
	return ch
}

// run runs the case and returns what went wrong.
func (sc *scenario) run() []string {
	c := sc.c
	bound := reStartBound
	if c.bg {
		bound = reBgStart
	}
	if c.phase == phaseStart {
		sc.armed.Store(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	startErr := service.Start(ctx, sc.root)
	cancel()
	started := startErr == nil
	if !started && !c.mayFailStart() {
		sc.errorf("the tree's start failed: %v", startErr)
	}

	var stopped <-chan stopResult
	switch {
	case c.phase == phaseRestart && started:
		sc.armed.Store(true)
		trigger := service.Service(sc.a) // restarts a (and, under rest-for-one, b and z)
		if c.strat == strategy.OneForAll {
			trigger = sc.b // a restarts as a bystander
		}
		trigger.Crash(errBoom)
	case c.phase == phaseStop && started:
		sc.armed.Store(true)
		stopped = sc.stopTree()
	}
	if started || c.phase == phaseStart {
		if sc.awaitOp() {
			sc.checkOp()
			if started && c.phase != phaseStop && !c.bg {
				sc.settle()
				sc.outcome()
			}
		}
	}

	if stopped == nil {
		stopped = sc.stopTree()
	}
	select {
	case res := <-stopped:
		if res.dur > reRootBudget+reSlack {
			sc.errorf("the final Stop took %v, budget %v", res.dur, reRootBudget)
		}
		sc.checkStopErr("the final Stop", res.err)
	case <-time.After(reRootBudget + 2*reOpBound):
		sc.errorf("the final Stop (budget %v) did not return", reRootBudget)
	}
	if sc.fired.Load() {
		select {
		case <-sc.done:
		case <-time.After(reOpBound):
			sc.errorf("%s still blocked %v after the final Stop", c.op, reOpBound)
		}
	}
	if c.bg && c.op == opRestart && c.target == tgtRoot && c.phase == phaseStop {
		// The Restart waited for the stop in progress, then started the
		// stopped tree again (Restart is legal from Shutdown): stop it again.
		res := <-sc.stopTree()
		if res.dur > reRootBudget+reSlack {
			sc.errorf("the second Stop took %v, budget %v", res.dur, reRootBudget)
		}
		sc.checkStopErr("the second Stop", res.err)
	}
	if c.bg {
		sc.awaitAbandoned()
	}
	for _, s := range sc.services() {
		if st := s.State(); st != service.Shutdown && st != service.Init {
			sc.errorf("after the final Stop, %s is %v, want Shutdown (or Init: rolled back)", s.Label(), st)
		}
	}
	if len(sc.errs) > 0 {
		sc.errorf("events of the supervisor: %s; of the parent: %s", sc.supEv, sc.rootEv)
	}
	return sc.errs
}

// awaitAbandoned waits, up to a bound, until every service is Shutdown or
// Init. Code that ignores its ctx can hold up a supervisor's goroutine
// past a Stop's budget: the Stop returns, names the goroutine as abandoned
// (ErrStopTimeout) and the goroutine stops its children when the code
// returns, after that Stop (supervisor package doc, Budgets). Which state a
// service is in is not a channel: this polls.
func (sc *scenario) awaitAbandoned() {
	deadline := time.Now().Add(reOpBound)
	for _, s := range sc.services() {
		for st := s.State(); st != service.Shutdown && st != service.Init && time.Now().Before(deadline); st = s.State() {
			time.Sleep(time.Millisecond)
		}
	}
}

// checkStopErr checks the error of a Stop of the tree: nil, unless the docs
// say otherwise. A Crash during a stop is added to Stop's error
// (service.Base.Crash); code that ignores its ctx is abandoned at the
// budget, named in an ErrStopTimeout.
func (sc *scenario) checkStopErr(what string, err error) {
	c := sc.c
	switch {
	case err == nil:
	case c.op == reOpCrash && c.phase == phaseStop && errors.Is(err, errReentry):
	case c.bg && errors.Is(err, service.ErrStopTimeout):
	default:
		sc.errorf("%s: %v", what, err)
	}
}

// awaitOp waits for the operation to have returned and reports whether it
// has.
func (sc *scenario) awaitOp() bool {
	c := sc.c
	bound := reOpBound
	if c.mayWaitForStop() {
		bound = 2 * reChildBudget // then the final Stop releases it
	}
	select {
	case <-sc.done:
		return true
	case <-time.After(bound):
	}
	switch {
	case !sc.fired.Load():
		sc.errorf("the %s never ran", c.site)
	case !c.mayWaitForStop():
		sc.errorf("%s on %s did not return within %v (deadlock)", c.op, c.target, bound)
	}
	return false
}

// checkOp checks what the operation returned, and how fast.
func (sc *scenario) checkOp() {
	c := sc.c
	if c.atOnce() && sc.opDur > reAtOnce {
		sc.errorf("%s took %v; it must return at once", c.op, sc.opDur)
	}
	if c.queued() && sc.opErr != nil {
		sc.errorf("%s returned %v; called from code the supervisor runs, it must be queued and return nil", c.op, sc.opErr)
	}
	if c.op == opStop && c.target == tgtRoot && c.ownCtx() && sc.opErr != nil {
		sc.errorf("Stop from inside returned %v, want nil (it finishes on its own goroutine)", sc.opErr)
	}
	if sc.opNote != "" {
		sc.errorf("%s", sc.opNote)
	}
	// RestartChild of a running child is ErrChildRunning when the caller
	// waits (queued, it is a RequestFailed event: see outcome).
	if c.op == opRestartChild && !c.queued() && !c.bg && c.phase != phaseStop &&
		!errors.Is(sc.opErr, supervisor.ErrChildRunning) {
		sc.errorf("RestartChild of a running child returned %v, want ErrChildRunning", sc.opErr)
	}
}

// settle waits until every request made so far has been handled: a request
// is handled in order, so one more request that waits for its answer (a
// RestartChild of a running bystander: ErrChildRunning, no side effect) is
// a barrier. The parent first: what it does may restart the supervisor.
//
// A barrier that returns nil restarted a stopped bystander: it is made
// again.
func (sc *scenario) settle() {
	ctx, cancel := context.WithTimeout(context.Background(), reOpBound)
	defer cancel()
	for _, x := range []struct {
		sup *supervisor.Supervisor
		id  string
	}{{sc.root, "c"}, {sc.sup, "z"}} {
		for x.sup.RestartChild(ctx, x.id) == nil && ctx.Err() == nil {
			runtime.Gosched()
		}
	}
}

// outcome checks the documented effect of the operation once the tree has
// settled (after a start or a restart).
func (sc *scenario) outcome() {
	c := sc.c
	switch c.op {
	case opStop, opRestart, reOpCrash:
		if c.target == tgtRoot {
			if c.op == reOpCrash && sc.root.State() != service.Crashed {
				sc.errorf("Crash of the unsupervised parent: it is %v, want Crashed", sc.root.State())
			}
			return // a Stop or Restart from inside finishes on its own goroutine
		}
		// A Stop from outside is a normal exit: a Permanent child is started
		// again; a restarted or crashed child runs again.
		par, id := sc.parent(c.target)
		if s := par.Child(id); s == nil || s.State() != service.Running {
			sc.errorf("after %s of %s: %s", c.op, id, stateOf(s))
		}
	case opTerminate:
		if sc.opErr != nil {
			return // the caller gave up: done or not
		}
		par, id := sc.parent(c.target)
		if k, ok := info(par, id); !ok || !k.Terminated || k.State != service.Shutdown {
			sc.errorf("after Terminate(%q): %+v (found %v), want Terminated and Shutdown", id, k, ok)
		}
	case opRemove, opRemoveDependency:
		if sc.opErr != nil {
			return // the caller gave up: done or not
		}
		par, id := sc.parent(c.target)
		if s := par.Child(id); s != nil {
			sc.errorf("after %s of %s: still a child (%v)", c.op, id, s.State())
		}
	case opAdd, opAddRuntimeDependency:
		if sc.opErr != nil {
			return
		}
		if c.target == tgtSup || c.target == tgtRoot {
			x := sc.svc(c.target, nil).(*supervisor.Supervisor)
			if x.Child("fresh") != sc.fresh || sc.fresh.State() != service.Running {
				sc.errorf("after %s: the fresh child is %s, registered %v; want a Running child",
					c.op, stateOf(sc.fresh), x.Child("fresh") == sc.fresh)
			}
			return
		}
		if sc.fresh.Node().Parent() == nil {
			sc.errorf("after %s: the fresh child has no parent", c.op)
		}
	case opRestartChild:
		if !c.queued() {
			return
		}
		par, id := sc.parent(c.target)
		ev := sc.supEv
		if par == sc.root {
			ev = sc.rootEv
		}
		if !ev.hasReason(supervisor.RequestFailed, id, supervisor.ErrChildRunning) {
			sc.errorf("queued RestartChild(%q) of a running child: no RequestFailed event with ErrChildRunning; events: %s", id, ev)
		}
	}
}

func stateOf(s service.Service) string {
	if s == nil {
		return "no such child"
	}
	return s.State().String()
}

// hasReason reports whether an event of kind for child id has a reason
// matching target.
func (e *events) hasReason(kind supervisor.EventKind, id string, target error) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.all {
		if ev.Kind == kind && ev.Child == id && errors.Is(ev.Reason, target) {
			return true
		}
	}
	return false
}

// A caller on another goroutine is not re-entrant: it waits for its answer
// even while the supervisor's goroutine runs OnEvent (package doc,
// Ownership: "A caller waits for its request under its ctx").
func TestReentrancyOutsideCallerDuringCallback(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(ctx context.Context, sup *supervisor.Supervisor) error
		want error
	}{
		{"RestartChild of a running child", func(ctx context.Context, sup *supervisor.Supervisor) error {
			return sup.RestartChild(ctx, "b")
		}, supervisor.ErrChildRunning},
		{"Add of a child whose start fails", func(ctx context.Context, sup *supervisor.Supervisor) error {
			bad := newWorker("bad")
			bad.failAt = map[int]error{1: errBoom}
			return sup.Add(ctx, bad)
		}, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			inEvent, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			sup := newSup(supervisor.Spec{OnEvent: func(e supervisor.Event) {
				if e.Kind == supervisor.ChildRestarted {
					once.Do(func() { close(inEvent); <-release })
				}
			}}, nil)
			a, b := newWorker("a"), newWorker("b")
			must(t, sup.Add(ctx, a))
			must(t, sup.Add(ctx, b))
			must(t, service.Start(ctx, sup))
			a.Crash(errBoom)
			<-inEvent // the goroutine runs OnEvent until release
			errc := make(chan error, 1)
			go func() { errc <- tc.call(ctx, sup) }()
			close(release) // before or after the call arrives: it must wait either way
			err := <-errc
			must(t, sup.Stop(ctx))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// selfAdder adds a runtime dependency to itself from a task it starts in
// OnStarted (OnStarted itself may not: ErrAddedInOnStart), then fails its
// start.
type selfAdder struct {
	service.Base
	kid *worker
}

func (s *selfAdder) OnStarted(context.Context) error {
	added := make(chan error, 1)
	if err := s.Go("adder", func(ctx context.Context) error {
		added <- s.AddRuntimeDependency(ctx, s.kid)
		return nil
	}); err != nil {
		return err
	}
	if err := <-added; err != nil {
		return err
	}
	return errBoom
}

var _ service.OnStartedHook = (*selfAdder)(nil)

// A start that fails is rolled back as a Stop of what started: a child the
// service added to itself (AddRuntimeDependency) during that start
// included.
func TestReentrancyRuntimeDependencyRolledBack(t *testing.T) {
	ctx := bg(t)
	kid := newWorker("kid")
	s := &selfAdder{kid: kid}
	s.Configure(service.Config{Name: "s", Logger: &quiet})
	if err := service.Start(ctx, s); !errors.Is(err, errBoom) {
		t.Fatalf("start: %v", err)
	}
	must(t, s.Stop(ctx))
	st := kid.State()
	must(t, kid.Stop(ctx)) // stop what the engine left running, whatever the outcome
	if s.State() != service.Init || (st != service.Init && st != service.Shutdown) {
		t.Fatalf("after the failed start and a Stop: parent %v, child %v; want Init and Init or Shutdown", s.State(), st)
	}
}
