package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// The dimensions of the re-entrancy matrix (reentrancy_test.go) and the
// scenario one case of it runs.
//
// The tree of every case:
//
//	parent (supervisor, same strategy)
//	├── supervisor (the strategy under test)
//	│   ├── a  (probe: the caller; every hook, a task)
//	│   ├── b  (the caller's sibling)
//	│   └── z  (a bystander, used as a barrier)
//	└── c      (the parent's other child, used as a barrier)

// reSite is where the operation is called from.
type reSite int

const (
	siteOnFirstStart reSite = iota
	siteOnStart
	siteOnStarted
	siteOnStop
	siteOnShutdown
	siteOnRestart
	siteTask           // a task of the child (Go), started in OnStart
	siteEventCrashed   // the supervisor's OnEvent, on ChildCrashed
	siteEventRestarted // the supervisor's OnEvent, on ChildRestarted
	siteReplacement    // the child's Replacement factory
)

var siteNames = [...]string{
	"OnFirstStart", "OnStart", "OnStarted", "OnStop", "OnShutdown", "OnRestart",
	"task", "OnEvent(crashed)", "OnEvent(restarted)", "Replacement",
}

func (s reSite) String() string { return siteNames[s] }

// hook: one of the child's hooks (they get a ctx).
func (s reSite) hook() bool { return s <= siteOnRestart }

// callback: user code given to the supervisor (no ctx: it passes
// context.Background()).
func (s reSite) callback() bool { return s >= siteEventCrashed }

func (s reSite) stopHook() bool { return s == siteOnStop || s == siteOnShutdown }

// rePhase is what the supervisor is doing when the operation is called.
type rePhase int

const (
	phaseStart   rePhase = iota // the tree's initial start
	phaseRestart                // the supervisor restarting after a crash
	phaseStop                   // the tree's stop
)

var phaseNames = [...]string{"start", "restart", "stop"}

func (p rePhase) String() string { return phaseNames[p] }

// sites lists the sites that run during the phase.
func (p rePhase) sites() []reSite {
	switch p {
	case phaseStart:
		return []reSite{siteOnFirstStart, siteOnStart, siteOnStarted, siteTask}
	case phaseRestart:
		return []reSite{siteOnStop, siteOnShutdown, siteOnRestart, siteOnStart, siteOnStarted,
			siteTask, siteEventCrashed, siteEventRestarted, siteReplacement}
	}
	return []reSite{siteOnStop, siteOnShutdown, siteTask}
}

// reTarget is what the operation is called on (or, for an operation by
// child, the child it concerns; its supervisor performs it).
type reTarget int

const (
	tgtSelf    reTarget = iota // the child itself (a)
	tgtSibling                 // its sibling (b)
	tgtSup                     // its supervisor
	tgtRoot                    // the supervisor's parent supervisor
	tgtNone    reTarget = -1
)

var targetNames = [...]string{"self", "sibling", "supervisor", "parent"}

func (t reTarget) String() string { return targetNames[t] }

// reOp is the public operation called.
type reOp int

const (
	opStop reOp = iota
	opRestart
	reOpCrash
	opAdd
	opRemove
	opTerminate
	opRestartChild
	opAddRuntimeDependency
	opRemoveDependency
	opChildren
	opChild
)

var opNames = [...]string{"Stop", "Restart", "Crash", "Add", "Remove", "Terminate", "RestartChild",
	"AddRuntimeDependency", "RemoveDependency", "Children", "Child"}

func (o reOp) String() string { return opNames[o] }

// takesCtx: the operation takes a ctx.
func (o reOp) takesCtx() bool { return o != reOpCrash && o != opChildren && o != opChild }

// byChild: the operation names a child its supervisor acts on.
func (o reOp) byChild() bool {
	switch o {
	case opRemove, opRemoveDependency, opTerminate, opRestartChild, opChild:
		return true
	}
	return false
}

// targets lists the targets the operation applies to. Stop, Restart,
// Crash: any service. Add, Children: a supervisor. AddRuntimeDependency: any
// service (Base's on a leaf, the supervisor's Add on a supervisor). By
// child: the child itself, its sibling, or the supervisor (as a child of
// the parent).
func (o reOp) targets() []reTarget {
	switch {
	case o == opAdd || o == opChildren:
		return []reTarget{tgtSup, tgtRoot}
	case o.byChild():
		return []reTarget{tgtSelf, tgtSibling, tgtSup}
	}
	return []reTarget{tgtSelf, tgtSibling, tgtSup, tgtRoot}
}

var strategies = []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne}

// reCase is one case of the matrix.
type reCase struct {
	strat  strategy.Strategy
	phase  rePhase
	site   reSite
	op     reOp
	target reTarget
	// bg: the calling code passes context.Background() instead of the ctx
	// it was given.
	bg bool
	// together: both supervisors have Spec.StopTogether.
	together bool
}

func (c reCase) name() string {
	n := fmt.Sprintf("%s/%s/%s/%s/%s", c.strat, c.phase, c.site, c.op, c.target)
	if c.bg {
		n += "/background"
	}
	if c.together {
		n += "/together"
	}
	return n
}

// ownCtx: the calling code passes the ctx it was given (hooks and tasks;
// OnEvent and Replacement get none).
func (c reCase) ownCtx() bool { return !c.bg && !c.site.callback() }

// via is the supervisor whose goroutine performs the operation (tgtSup or
// tgtRoot), or tgtNone: a child's own Stop and Restart are routed to its
// supervisor; Add, Remove, Terminate, RestartChild, AddRuntimeDependency and
// RemoveDependency of a supervisor are its requests.
func (c reCase) via() reTarget {
	switch c.op {
	case opStop, opRestart:
		switch c.target {
		case tgtSelf, tgtSibling:
			return tgtSup
		case tgtSup:
			return tgtRoot
		}
	case opAdd, opAddRuntimeDependency:
		if c.target == tgtSup || c.target == tgtRoot {
			return c.target
		}
	case opRemove, opRemoveDependency, opTerminate, opRestartChild:
		if c.target == tgtSup {
			return tgtRoot
		}
		return tgtSup
	}
	return tgtNone
}

// concernsCaller: the request is about the caller's own service or one of
// its ancestors (its ctx is inside the child concerned).
func (c reCase) concernsCaller() bool {
	return c.via() != tgtNone && (c.target == tgtSelf || c.target == tgtSup) &&
		c.op != opAdd && c.op != opAddRuntimeDependency
}

// queued says whether the docs promise the call is queued and returns nil
// at once, because the goroutine that must perform it is running the
// caller right now (supervisor package doc, Ownership):
//   - a child's hook during a start, stop or restart its supervisor performs
//     (with the hook's ctx, which carries the mark);
//   - OnEvent and a Replacement calling back into their supervisor, whatever
//     ctx (Spec.OnEvent: "a call back into the supervisor is queued"),
//     its own Stop and Restart included, and the parent's Remove,
//     RemoveDependency and Terminate of it (they need its goroutine, which
//     runs the caller);
//   - a child calling on itself (or on an ancestor) from its own tasks
//     or hooks, with their ctx;
//   - the parent's goroutine, while it starts or stops the supervisor,
//     waits for the supervisor's goroutine, which waits for the child's
//     start or stop hooks: a call from them to the parent is queued too
//     (seam.Mark: "the supervisors whose goroutines wait, right now, for
//     the code"; the start path keeps the parent's mark).
func (c reCase) queued() bool {
	v := c.via()
	if v == tgtNone {
		return false
	}
	switch {
	case c.site.callback():
		// A request about the supervisor itself may need its goroutine
		// (to stop it): the parent queues every one (a RestartChild of
		// it, running, is then a RequestFailed event).
		return v == tgtSup || c.target == tgtSup
	case !c.ownCtx():
		return false
	case c.concernsCaller():
		return true
	case v == tgtSup:
		return c.site.hook()
	}
	return c.site.hook() && (c.phase == phaseStart || c.phase == phaseStop && c.site.stopHook())
}

// atOnce says whether the call must return at once: queued, read-only, a
// Crash, or a Stop or Restart of the unsupervised parent called with the
// ctx of its descendant's hook or task (service.Base.Stop: "begins the
// stop, finishes it on a new goroutine, and returns nil at once") or from
// the supervisor's OnEvent or Replacement (the stop needs the supervisor's
// goroutine, which runs the caller: it cannot be waited for).
func (c reCase) atOnce() bool {
	switch {
	case c.queued(), c.op == reOpCrash, c.op == opChildren, c.op == opChild:
		return true
	case c.target == tgtRoot && (c.op == opStop || c.op == opRestart):
		return c.ownCtx() || c.site.callback()
	}
	return false
}

// mayFailStart says whether the operation can make the tree's initial start
// fail: a Crash or a Stop of a service still starting aborts its start
// (service.Crash, service.Base.Stop), and so does a child added from
// OnStart or OnStarted. The tree then ends in Init.
func (c reCase) mayFailStart() bool {
	if c.phase != phaseStart {
		return false
	}
	if c.bg {
		return true // the start ctx bounds code that ignores the ctx it was given
	}
	switch c.op {
	case reOpCrash:
		return c.target != tgtSibling || c.site == siteTask // b starts after a's hooks
	case opStop:
		return c.target == tgtRoot
	case opAddRuntimeDependency:
		// A child added from OnStart or OnStarted fails the start
		// (service.ErrAddedInOnStart).
		return c.target == tgtSelf && (c.site == siteOnStart || c.site == siteOnStarted)
	}
	return false
}

// mayWaitForStop says whether the docs let the call wait until the tree
// stops: code that ignores its ctx waits "bounded only by the supervisor's
// budgets", and a restart's start hooks have none (their ctx ends when the
// supervisor stops).
func (c reCase) mayWaitForStop() bool {
	return c.bg && c.phase == phaseRestart && (c.site == siteOnStart || c.site == siteOnStarted)
}

// Budgets and bounds of the scenario. Bounds are generous: they tell a
// deadlock from a wait, never measure speed.
const (
	reChildBudget = time.Second     // every child's shutdown timeout and the leaves' StopTimeout
	reSupBudget   = 3 * time.Second // the supervisor's StopTimeout
	reRootBudget  = 6 * time.Second // the parent's StopTimeout: the final Stop's budget
	reSlack       = time.Second     // on every bound below
	reAtOnce      = time.Second     // "returns at once": a call that waited would take a budget or forever
	reOpBound     = 10 * time.Second
	reStartBound  = 10 * time.Second // the initial start's ctx
	reBgStart     = 3 * time.Second  // the initial start's ctx when code ignores its ctx
)

var errReentry = errors.New("re-entrant crash")

// scenario runs one case.
type scenario struct {
	c reCase

	root, sup    *supervisor.Supervisor
	a            *probe // the first instance of the caller
	b, z, cw     *worker
	fresh        *worker // the child Add and AddRuntimeDependency add
	rootEv       *events
	supEv        *events
	armed, fired atomic.Bool
	done         chan struct{} // closed once the operation has returned

	// Set before done is closed.
	opErr  error
	opDur  time.Duration
	opNote string // what a read-only operation returned, if wrong

	mu     sync.Mutex
	probes []*probe // every instance of the caller (Replacement makes more)
	errs   []string
}

// probe is the caller: every hook calls the operation when its site is
// the case's and the case is armed.
type probe struct {
	service.Base
	sc *scenario
}

func (p *probe) OnFirstStart(ctx context.Context) error {
	p.sc.at(siteOnFirstStart, ctx, p)
	return nil
}

func (p *probe) OnStart(ctx context.Context) error {
	p.sc.at(siteOnStart, ctx, p)
	if p.sc.c.site == siteTask {
		armed := p.sc.armed.Load() // a task of a run begun before the case was armed never calls
		return p.Go("reentry", func(ctx context.Context) error { return p.task(ctx, armed) })
	}
	return nil
}

func (p *probe) OnStarted(ctx context.Context) error {
	p.sc.at(siteOnStarted, ctx, p)
	return nil
}

func (p *probe) OnStop(ctx context.Context) error {
	p.sc.at(siteOnStop, ctx, p)
	return nil
}

func (p *probe) OnShutdown(ctx context.Context) error {
	p.sc.at(siteOnShutdown, ctx, p)
	return nil
}

func (p *probe) OnRestart(ctx context.Context) error {
	p.sc.at(siteOnRestart, ctx, p)
	return nil
}

// task calls the operation as soon as it runs (start, restart: if its run
// began once the case was armed), or once its run is cancelled (stop),
// with the task's ctx.
func (p *probe) task(ctx context.Context, armed bool) error {
	if p.sc.c.phase != phaseStop && armed {
		p.sc.at(siteTask, ctx, p)
	}
	<-ctx.Done()
	if p.sc.c.phase == phaseStop {
		p.sc.at(siteTask, ctx, p)
	}
	return nil
}

var (
	_ service.OnFirstStarter = (*probe)(nil)
	_ service.OnStarter      = (*probe)(nil)
	_ service.OnStartedHook  = (*probe)(nil)
	_ service.OnStopper      = (*probe)(nil)
	_ service.OnShutdowner   = (*probe)(nil)
	_ service.OnRestarter    = (*probe)(nil)
)

func newScenario(c reCase) *scenario {
	sc := &scenario{c: c, done: make(chan struct{}), rootEv: newEvents(), supEv: newEvents()}
	leaf := func(name string) *worker {
		w := &worker{}
		w.Configure(service.Config{Name: name, Logger: &quiet, StopTimeout: reChildBudget})
		return w
	}
	sc.b, sc.z, sc.cw, sc.fresh = leaf("b"), leaf("z"), leaf("c"), leaf("fresh")
	sc.root = supervisor.New(supervisor.Spec{
		Service:         service.Config{Name: "parent", Logger: &quiet, StopTimeout: reRootBudget},
		Strategy:        c.strat,
		MaxRestarts:     10,
		ShutdownTimeout: reChildBudget,
		OnEvent:         sc.rootEv.hook,
		StopTogether:    c.together,
	})
	sc.sup = supervisor.New(supervisor.Spec{
		Service:         service.Config{Name: "sup", Logger: &quiet, StopTimeout: reSupBudget},
		Strategy:        c.strat,
		MaxRestarts:     10,
		ShutdownTimeout: reChildBudget,
		OnEvent:         sc.onSupEvent,
		StopTogether:    c.together,
	})
	sc.a = sc.newProbe()
	spec := supervisor.ChildSpec{ID: "a"}
	if c.site == siteReplacement {
		spec.Replacement = sc.replacement
	}
	bg := context.Background()
	sc.check(sc.sup.Add(bg, sc.a, spec))
	sc.check(sc.sup.Add(bg, sc.b, supervisor.ChildSpec{ID: "b"}))
	sc.check(sc.sup.Add(bg, sc.z, supervisor.ChildSpec{ID: "z"}))
	sc.check(sc.root.Add(bg, sc.sup, supervisor.ChildSpec{ID: "sup"}))
	sc.check(sc.root.Add(bg, sc.cw, supervisor.ChildSpec{ID: "c"}))
	return sc
}

func (sc *scenario) newProbe() *probe {
	p := &probe{sc: sc}
	p.Configure(service.Config{Name: "a", Logger: &quiet, StopTimeout: reChildBudget})
	sc.mu.Lock()
	sc.probes = append(sc.probes, p)
	sc.mu.Unlock()
	return p
}

func (sc *scenario) errorf(format string, args ...any) {
	sc.mu.Lock()
	sc.errs = append(sc.errs, fmt.Sprintf(format, args...))
	sc.mu.Unlock()
}

func (sc *scenario) check(err error) {
	if err != nil {
		sc.errorf("setup: %v", err)
	}
}

// current is the caller's current instance (after a Replacement, the
// fresh one).
func (sc *scenario) current() service.Service {
	if s := sc.sup.Child("a"); s != nil {
		return s
	}
	return sc.a
}

func (sc *scenario) onSupEvent(e supervisor.Event) {
	sc.supEv.hook(e)
	if sc.c.site == siteEventCrashed && e.Kind == supervisor.ChildCrashed ||
		sc.c.site == siteEventRestarted && e.Kind == supervisor.ChildRestarted {
		sc.at(sc.c.site, nil, sc.current())
	}
}

func (sc *scenario) replacement() service.Service {
	sc.at(siteReplacement, nil, sc.current())
	return sc.newProbe()
}

// at calls the operation if site is the case's and the case is armed;
// only the first such call does (a hook that runs again does not repeat
// it, and never waits for the first).
func (sc *scenario) at(site reSite, ctx context.Context, self service.Service) {
	if site != sc.c.site || !sc.armed.Load() || !sc.fired.CompareAndSwap(false, true) {
		return
	}
	if ctx == nil || sc.c.bg {
		ctx = context.Background()
	}
	start := time.Now()
	note, err := sc.do(ctx, self)
	sc.opErr, sc.opNote, sc.opDur = err, note, time.Since(start)
	close(sc.done)
}

// svc is the service a target names; self is the caller.
func (sc *scenario) svc(t reTarget, self service.Service) service.Service {
	switch t {
	case tgtSelf:
		return self
	case tgtSibling:
		return sc.b
	case tgtSup:
		return sc.sup
	}
	return sc.root
}

// parent is the supervisor of the child a target names, and its ID.
func (sc *scenario) parent(t reTarget) (*supervisor.Supervisor, string) {
	switch t {
	case tgtSelf:
		return sc.sup, "a"
	case tgtSibling:
		return sc.sup, "b"
	}
	return sc.root, "sup"
}

type runtimeAdder interface {
	AddRuntimeDependency(ctx context.Context, child service.Service) error
}

// do performs the case's operation with ctx, as the caller self.
func (sc *scenario) do(ctx context.Context, self service.Service) (note string, err error) {
	t := sc.c.target
	switch sc.c.op {
	case opStop:
		return "", sc.svc(t, self).Stop(ctx)
	case opRestart:
		return "", sc.svc(t, self).Restart(ctx)
	case reOpCrash:
		sc.svc(t, self).Crash(errReentry)
		return "", nil
	case opAdd:
		return "", sc.svc(t, self).(*supervisor.Supervisor).Add(ctx, sc.fresh)
	case opAddRuntimeDependency:
		return "", sc.svc(t, self).(runtimeAdder).AddRuntimeDependency(ctx, sc.fresh)
	}
	par, id := sc.parent(t)
	switch sc.c.op {
	case opRemove:
		return "", par.Remove(ctx, sc.svc(t, self))
	case opRemoveDependency:
		return "", par.RemoveDependency(ctx, sc.svc(t, self))
	case opTerminate:
		return "", par.Terminate(ctx, id)
	case opRestartChild:
		return "", par.RestartChild(ctx, id)
	case opChild:
		if got, want := par.Child(id), sc.svc(t, self); got != want {
			label := "nil"
			if got != nil {
				label = got.Label()
			}
			return fmt.Sprintf("Child(%q) = %s, want %s", id, label, want.Label()), nil
		}
		return "", nil
	}
	kids := sc.svc(t, self).(*supervisor.Supervisor).Children()
	want := []string{"a", "b", "z"}
	if t == tgtRoot {
		want = []string{"sup", "c"}
	}
	var ids []string
	for _, k := range kids {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, want) {
		return fmt.Sprintf("Children() IDs %v, want %v", ids, want), nil
	}
	return "", nil
}

// services lists every service of the tree, the fresh child and every
// instance of the caller.
func (sc *scenario) services() []service.Service {
	out := []service.Service{sc.root, sc.sup, sc.b, sc.z, sc.cw, sc.fresh}
	sc.mu.Lock()
	for _, p := range sc.probes {
		out = append(out, p)
	}
	sc.mu.Unlock()
	return out
}

// info returns the parent's record of the child with this ID.
func info(par *supervisor.Supervisor, id string) (supervisor.ChildInfo, bool) {
	for _, k := range par.Children() {
		if k.ID == id {
			return k, true
		}
	}
	return supervisor.ChildInfo{}, false
}
