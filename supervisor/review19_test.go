package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// Review 19: consistency after chaos, before the Stop. A storm of
// concurrent operations (from outside goroutines, and from inside hooks,
// tasks, OnEvent and a Replacement: queued calls) hits a three-level tree;
// then the storm ends, the tree is brought to quiescence without sleeping
// (every call returned, every backoff fired on a fake clock, every
// supervisor's queue drained by a probe that round-trips through its
// goroutine, until a whole round changes nothing), and the tree is checked:
// what Children() lists agrees with the services, nothing runs outside
// the tree, every running child is still supervised (crashed one by one,
// each is restarted per its restart type), and Stop returns.

// r19Gate lets the storm's inside calls (hooks, tasks, OnEvent) run until
// calm, then waits for those in flight; entering never blocks, so a hook
// on a supervisor's goroutine never waits for the test.
type r19Gate struct {
	mu   sync.Mutex
	calm bool
	n    int
	idle chan struct{}
}

func (g *r19Gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.calm {
		return false
	}
	g.n++
	return true
}

func (g *r19Gate) exit() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.calm && g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

func (g *r19Gate) reopen() {
	g.mu.Lock()
	g.calm = false
	g.mu.Unlock()
}

func (g *r19Gate) calmDown(t *testing.T) {
	g.mu.Lock()
	g.calm = true
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	g.idle = make(chan struct{})
	idle := g.idle
	g.mu.Unlock()
	recv(t, idle, "the inside calls in flight")
}

// r19Tree is the tree under chaos:
//
//	root (strategy st)
//	├── c0 worker, Permanent
//	├── c1 worker, Transient
//	├── c2 worker, Permanent, Replacement
//	├── c3 Func, Permanent
//	├── c4 worker, Temporary
//	└── mid (supervisor, one-for-all, AnySignificant, 4 restarts a minute)
//	    ├── p worker with a Base child k
//	    ├── sig worker, Transient, Significant
//	    └── leaf (supervisor, strategy st, 2 restarts a minute: it gives up)
//	        ├── w1 worker
//	        └── w2 worker, Transient
//
// and Temporary extras the storm adds and removes anywhere.
type r19Tree struct {
	t          *testing.T
	clk        *clock.Fake
	root       *supervisor.Supervisor
	mid, leaf  *supervisor.Supervisor
	sups       []*supervisor.Supervisor // top-down
	evs        map[*supervisor.Supervisor]*events
	gate       r19Gate
	bad        chan string // what inside calls saw that they must not
	extraSeq   atomic.Int64
	insideSeed atomic.Uint64

	mu  sync.Mutex
	all []service.Service // every service made, replacements and extras included
}

// r19w is the storm's worker: its hooks and its one task each may make
// one call from inside; it counts its starts and OnRestart calls.
type r19w struct {
	service.Base
	tr       *r19Tree
	sup      *supervisor.Supervisor // set before it is added
	starts   atomic.Int32
	restarts atomic.Int32
	free     atomic.Bool // started while detached: not the tree's
}

func (w *r19w) OnStart(ctx context.Context) error {
	w.starts.Add(1)
	if w.Node().Parent() == nil {
		// Started on its own: a storm's Restart of a service no longer
		// in the tree (removed, replaced) makes it the caller's.
		w.free.Store(true)
	}
	w.tr.inside(ctx, w, w.sup)
	return w.Go("t", func(ctx context.Context) error {
		w.tr.inside(ctx, w, w.sup)
		<-ctx.Done()
		return nil
	})
}

func (w *r19w) OnStop(ctx context.Context) error {
	w.tr.inside(ctx, w, w.sup)
	return nil
}

func (w *r19w) OnRestart(ctx context.Context) error {
	w.restarts.Add(1)
	w.tr.inside(ctx, w, w.sup)
	return nil
}

var (
	_ service.OnStarter   = (*r19w)(nil)
	_ service.OnStopper   = (*r19w)(nil)
	_ service.OnRestarter = (*r19w)(nil)
)

func (tr *r19Tree) keep(s service.Service) {
	tr.mu.Lock()
	tr.all = append(tr.all, s)
	tr.mu.Unlock()
}

func (tr *r19Tree) worker(name string, sup *supervisor.Supervisor) *r19w {
	w := &r19w{tr: tr, sup: sup}
	w.Configure(service.Config{Name: name, Logger: &quiet})
	tr.keep(w)
	return w
}

func (tr *r19Tree) extra(sup *supervisor.Supervisor) *r19w {
	return tr.worker(fmt.Sprintf("x%d", tr.extraSeq.Add(1)), sup)
}

func newR19Tree(t *testing.T, st strategy.Strategy, backs, together bool) *r19Tree {
	ctx := bg(t)
	tr := &r19Tree{t: t, clk: clock.NewFake(time.Unix(1000, 0)), evs: map[*supervisor.Supervisor]*events{}, bad: make(chan string, 64)}
	spec := func(name string, st strategy.Strategy, max int, window time.Duration) supervisor.Spec {
		sp := supervisor.Spec{Service: service.Config{Name: name, Clock: tr.clk, Logger: &quiet},
			Strategy: st, MaxRestarts: max, Window: window, StopTogether: together}
		if backs {
			sp.Backoff = strategy.Backoff{Min: time.Millisecond, Max: 100 * time.Millisecond}
		}
		return sp
	}
	mk := func(sp supervisor.Spec) *supervisor.Supervisor {
		var s *supervisor.Supervisor
		ev := newEvents()
		sp.OnEvent = func(e supervisor.Event) {
			ev.hook(e)
			tr.onEvent(s, e)
		}
		s = supervisor.New(sp)
		tr.evs[s] = ev
		tr.keep(s)
		return s
	}
	tr.root = mk(spec("root", st, 1_000_000, time.Hour))
	midSpec := spec("mid", strategy.OneForAll, 4, time.Minute)
	midSpec.AutoShutdown = supervisor.AnySignificant
	tr.mid = mk(midSpec)
	tr.leaf = mk(spec("leaf", st, 2, time.Minute))
	tr.sups = []*supervisor.Supervisor{tr.root, tr.mid, tr.leaf}

	must(t, tr.leaf.Add(ctx, tr.worker("w1", tr.leaf), supervisor.ChildSpec{ID: "w1"}))
	must(t, tr.leaf.Add(ctx, tr.worker("w2", tr.leaf), supervisor.ChildSpec{ID: "w2", Restart: strategy.Transient}))
	p := tr.worker("p", tr.mid)
	must(t, p.AddDependency(tr.worker("k", nil)))
	must(t, tr.mid.Add(ctx, p, supervisor.ChildSpec{ID: "p"}))
	must(t, tr.mid.Add(ctx, tr.worker("sig", tr.mid), supervisor.ChildSpec{ID: "sig", Restart: strategy.Transient, Significant: true}))
	must(t, tr.mid.Add(ctx, tr.leaf, supervisor.ChildSpec{ID: "leaf"}))

	must(t, tr.root.Add(ctx, tr.worker("c0", tr.root), supervisor.ChildSpec{ID: "c0"}))
	must(t, tr.root.Add(ctx, tr.worker("c1", tr.root), supervisor.ChildSpec{ID: "c1", Restart: strategy.Transient}))
	must(t, tr.root.Add(ctx, tr.worker("c2", tr.root), supervisor.ChildSpec{ID: "c2", Replacement: func() service.Service {
		w := tr.worker("c2", tr.root)
		tr.inside(nil, nil, tr.root) // a call from the Replacement (on root's goroutine)
		return w
	}}))
	var f *service.FuncService
	f = service.Func("c3", func(ctx context.Context) error {
		tr.inside(ctx, f, tr.root)
		<-ctx.Done()
		return nil
	})
	tr.keep(f)
	must(t, tr.root.Add(ctx, f, supervisor.ChildSpec{ID: "c3"}))
	must(t, tr.root.Add(ctx, tr.worker("c4", tr.root), supervisor.ChildSpec{ID: "c4", Restart: strategy.Temporary}))
	must(t, tr.root.Add(ctx, tr.mid, supervisor.ChildSpec{ID: "mid"}))
	must(t, service.Start(ctx, tr.root))
	return tr
}

// inside makes, now and then, one call from code a supervisor runs (a
// hook or a task of self, whose ctx it passes; OnEvent or a Replacement,
// with ctx nil): on self, or on sup about a sibling. Such a call must
// return at once (queued) or, from a task, when its ctx ends.
func (tr *r19Tree) inside(ctx context.Context, self service.Service, sup *supervisor.Supervisor) {
	if !tr.gate.enter() {
		return
	}
	defer tr.gate.exit()
	rnd := rand.New(rand.NewPCG(tr.insideSeed.Add(1), 19))
	if rnd.IntN(5) != 0 {
		return
	}
	if ctx == nil {
		ctx = context.Background() // OnEvent, a Replacement: told by the goroutine
	}
	began := time.Now()
	var err error
	op := rnd.IntN(7)
	if self == nil && op < 3 {
		op += 3
	}
	switch op {
	case 0:
		err = self.Stop(ctx)
	case 1:
		err = self.Restart(ctx)
	case 2:
		self.Crash(errBoom)
	case 3, 4:
		if sup == nil {
			return
		}
		kids := sup.Children()
		if len(kids) == 0 {
			return
		}
		id := kids[rnd.IntN(len(kids))].ID
		if op == 3 {
			err = sup.Terminate(ctx, id)
		} else {
			err = sup.RestartChild(ctx, id)
		}
	case 5:
		if sup != nil {
			err = sup.Add(ctx, tr.extra(sup), supervisor.ChildSpec{Restart: strategy.Temporary})
		}
	case 6:
		if sup == nil {
			return
		}
		for _, ci := range sup.Children() {
			if strings.HasPrefix(ci.ID, "x") {
				err = sup.Remove(ctx, ci.Service)
				break
			}
		}
	}
	// A queued call returns nil at once; a task's call waits, but returns
	// when its ctx ends (its run stopping). None may take seconds.
	if d := time.Since(began); d > 3*time.Second {
		tr.report(fmt.Sprintf("inside call %d took %v: %v", op, d, err))
	}
}

func (tr *r19Tree) report(s string) {
	select {
	case tr.bad <- s:
	default:
	}
}

func (tr *r19Tree) onEvent(s *supervisor.Supervisor, e supervisor.Event) {
	if strings.HasPrefix(e.Child, "barrier-") {
		return
	}
	tr.inside(nil, nil, s)
}

// storm runs ops operations from g goroutines, each with its own seed.
func (tr *r19Tree) storm(seed uint64, g, ops int) {
	t := tr.t
	ctx := bg(t)
	var wg sync.WaitGroup
	var count atomic.Int32
	for i := range g {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(seed, uint64(i)))
			for count.Add(1) <= int32(ops) {
				tr.outside(ctx, rnd)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the storm's calls did not all return")
	}
}

// outside makes one call from a goroutine of its own.
func (tr *r19Tree) outside(ctx context.Context, rnd *rand.Rand) {
	sup := tr.sups[rnd.IntN(len(tr.sups))]
	kids := sup.Children()
	var ci supervisor.ChildInfo
	if len(kids) > 0 {
		ci = kids[rnd.IntN(len(kids))]
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	began := time.Now()
	var err error
	op := rnd.IntN(12)
	if ci.Service == nil && op < 8 {
		op = 8
	}
	if op == 4 && rnd.IntN(3) != 0 {
		op = 5 // fewer Terminates: a terminated subtree takes no more part
	}
	switch op {
	case 0, 1:
		ci.Service.Crash(errBoom)
	case 2:
		err = ci.Service.Stop(cctx)
		if errors.Is(err, supervisor.ErrNotRunning) {
			t := tr.t
			t.Errorf("%s.Stop returned ErrNotRunning (documented never to): %v", ci.ID, err)
		}
	case 3:
		err = ci.Service.Restart(cctx)
	case 4:
		err = sup.Terminate(cctx, ci.ID)
	case 5:
		err = sup.RestartChild(cctx, ci.ID)
	case 6:
		if strings.HasPrefix(ci.ID, "x") {
			err = sup.Remove(cctx, ci.Service)
		}
	case 7: // the Base's own child, not supervised itself
		if p := tr.mid.Child("p"); p != nil {
			for _, k := range p.Node().Children() {
				if ks, ok := k.Value().(service.Service); ok {
					if rnd.IntN(2) == 0 {
						ks.Crash(errBoom)
					} else {
						err = ks.Restart(cctx)
					}
				}
			}
		}
	case 8:
		err = sup.Add(cctx, tr.extra(sup), supervisor.ChildSpec{Restart: strategy.Temporary})
	case 9:
		tr.clk.Advance(time.Duration(rnd.IntN(50)) * time.Millisecond)
	case 10: // a whole subtree (not root's: nobody would restart it)
		if sup != tr.root {
			sup.Crash(errBoom)
		}
	case 11:
		_ = sup.DumpInfo()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		tr.t.Errorf("a storm call (op %d on %s/%s) waited %v: %v", op, sup.ShortLabel(), ci.ID, time.Since(began), err)
	}
}

// realEvents counts the events of every supervisor but the probes'.
func (tr *r19Tree) realEvents() int {
	n := 0
	for _, ev := range tr.evs {
		ev.mu.Lock()
		for _, e := range ev.all {
			if !strings.HasPrefix(e.Child, "barrier-") {
				n++
			}
		}
		ev.mu.Unlock()
	}
	return n
}

// probe is settle without failing the test when the supervisor is not
// running (it reports false then): a Temporary child added and removed
// through the supervisor's queue.
func (tr *r19Tree) probe(ctx context.Context, s *supervisor.Supervisor) bool {
	t := tr.t
	t.Helper()
	if s.State() != service.Running {
		return false
	}
	id := fmt.Sprintf("barrier-%d", barrierSeq.Add(1))
	b := newD(id)
	if err := s.Add(ctx, b, supervisor.ChildSpec{Restart: strategy.Temporary}); err != nil {
		if errors.Is(err, supervisor.ErrNotRunning) || errors.Is(err, service.ErrStopped) || errors.Is(err, service.ErrStopping) {
			return false
		}
		if errors.Is(err, context.Canceled) && ctx.Err() == nil && s.State() != service.Running {
			// The supervisor began to stop during the probe's start. (Add
			// says context.Canceled then, though its caller's ctx is alive.)
			return false
		}
		t.Fatalf("probe of %s: %v", s.ShortLabel(), err)
	}
	if err := s.Remove(ctx, b); err != nil && !errors.Is(err, supervisor.ErrNoChild) {
		if errors.Is(err, supervisor.ErrNotRunning) {
			return false
		}
		t.Fatalf("probe of %s: remove: %v", s.ShortLabel(), err)
	}
	if b.State() == service.Running {
		t.Fatalf("probe %s of %s removed, yet running", id, s.ShortLabel())
	}
	return true
}

// quiesce brings the tree to rest: every backoff fired (the fake clock
// moves by an hour, which also empties the intensity windows), every
// supervisor's queue drained, until one whole round changes nothing.
func (tr *r19Tree) quiesce() {
	t := tr.t
	t.Helper()
	ctx := bg(t)
	for round := 0; ; round++ {
		if round == 100 {
			t.Fatalf("no rest after 100 rounds")
		}
		before := tr.realEvents()
		tr.clk.Advance(time.Hour)
		tr.clk.Settle()
		all := true
		for _, s := range tr.sups {
			all = tr.probe(ctx, s) && all
		}
		waiting := false
		for _, s := range tr.sups {
			for _, l := range s.DumpInfo() {
				if strings.Contains(l, "restart due") {
					waiting = true
				}
			}
		}
		if tr.realEvents() == before && !waiting && (all || round > 3) {
			return
		}
	}
}

// inTree reports why s, running, is not where a running service must be:
// under root through running ancestors, listed by its supervisor.
func (tr *r19Tree) inTree(s service.Service) string {
	nd := s.Node()
	for {
		p := nd.Parent()
		if p == nil {
			if nd != tr.root.Node() {
				return "not under root"
			}
			return ""
		}
		ps, ok := p.Value().(service.Service)
		if !ok {
			return "a parent node without a service"
		}
		if st := ps.State(); st != service.Running {
			return fmt.Sprintf("its ancestor %s is %v", ps.Label(), st)
		}
		if sup, ok := ps.(*supervisor.Supervisor); ok && nd == s.Node() {
			listed := false
			for _, ci := range sup.Children() {
				if ci.Service == s {
					listed = true
				}
			}
			if !listed {
				return "not listed by its supervisor " + sup.ShortLabel()
			}
		}
		nd = p
	}
}

// check verifies the tree at rest. repaired: every terminated child was
// restarted, so every child runs (a Transient one may have ended).
func (tr *r19Tree) check(when string) {
	t := tr.t
	t.Helper()
	for _, s := range tr.sups {
		if s.State() != service.Running {
			if s == tr.root {
				t.Errorf("%s: root %v (reason %v)", when, s.State(), s.CrashReason())
			}
			continue
		}
		for _, ci := range s.Children() {
			where := fmt.Sprintf("%s: %s/%s", when, s.ShortLabel(), ci.ID)
			if got := s.Child(ci.ID); got != ci.Service {
				t.Errorf("%s: Child(id) = %v, Children lists %v", where, got, ci.Service)
			}
			if p := ci.Service.Node().Parent(); p != s.Node() {
				t.Errorf("%s: node parent %v", where, p)
			}
			if n := tr.evs[s].count(supervisor.ChildRestarted, ci.ID); n != ci.RestartCount {
				t.Errorf("%s: RestartCount %d, yet %d ChildRestarted events", where, ci.RestartCount, n)
			}
			st := ci.State
			switch {
			case ci.Terminated:
				if st != service.Shutdown && st != service.Init {
					t.Errorf("%s: terminated, yet %v", where, st)
				}
			case ci.Restart == strategy.Transient:
				if st != service.Running && st != service.Shutdown {
					t.Errorf("%s: Transient child %v (reason %v)", where, st, ci.LastReason)
				}
			default:
				if st != service.Running {
					t.Errorf("%s: %v child %v, not terminated (reason %v)", where, ci.Restart, st, ci.LastReason)
				}
			}
		}
	}
	tr.mu.Lock()
	all := slices.Clone(tr.all)
	tr.mu.Unlock()
	for _, s := range all {
		if w, ok := s.(*r19w); ok && w.free.Load() {
			continue
		}
		switch st := s.State(); st {
		case service.Running, service.Starting, service.Stopping:
			if why := tr.inTree(s); why != "" {
				t.Errorf("%s: %s is %v outside the tree: %s", when, s.Label(), st, why)
			}
		}
	}
	for {
		select {
		case b := <-tr.bad:
			t.Errorf("%s: %s", when, b)
			continue
		default:
		}
		break
	}
}

// repair restarts every terminated child (top-down) and brings the tree
// to rest again.
func (tr *r19Tree) repair() {
	t := tr.t
	ctx := bg(t)
	for range 3 {
		for _, s := range tr.sups {
			if s.State() != service.Running {
				continue
			}
			for _, ci := range s.Children() {
				if ci.Terminated {
					if err := s.RestartChild(ctx, ci.ID); err != nil {
						t.Errorf("RestartChild %s/%s: %v", s.ShortLabel(), ci.ID, err)
						buf := make([]byte, 1<<20) // what holds it back
						t.Logf("%s", buf[:runtime.Stack(buf, true)])
					}
				}
			}
		}
		tr.quiesce()
	}
}

// supervised crashes each running child of each supervisor, one at a time
// (bottom-up), and checks that it is handled per its restart type.
func (tr *r19Tree) supervised() {
	t := tr.t
	for _, s := range slices.Backward(tr.sups) {
		ev := tr.evs[s]
		var ids []string
		for _, ci := range s.Children() {
			ids = append(ids, ci.ID)
		}
		for _, id := range ids {
			ci, ok := childInfo(t, s, id) // fresh: a group restart counts the siblings too
			if !ok || ci.State != service.Running || s.State() != service.Running {
				continue
			}
			where := s.ShortLabel() + "/" + ci.ID
			crashes := ev.count(supervisor.ChildCrashed, ci.ID)
			w, _ := ci.Service.(*r19w)
			var onRestart int32
			if w != nil {
				onRestart = w.restarts.Load()
			}
			ci.Service.Crash(errBoom)
			ev.wait(t, supervisor.ChildCrashed, ci.ID, crashes+1)
			tr.quiesce()
			now, listed := childInfo(t, s, ci.ID)
			switch {
			case ci.Restart == strategy.Temporary:
				if listed {
					t.Errorf("%s: a crashed Temporary child still listed: %+v", where, now)
				}
			case !listed:
				t.Errorf("%s: crashed and gone", where)
			default:
				if now.State != service.Running || now.RestartCount != ci.RestartCount+1 {
					t.Errorf("%s: after its crash: %v, restarts %d (was %d); events %s", where, now.State, now.RestartCount, ci.RestartCount, ev)
				}
				if w != nil && now.Service == ci.Service {
					if got := w.restarts.Load(); got != onRestart+1 {
						t.Errorf("%s: OnRestart called %d times for one crash", where, got-onRestart)
					}
				}
			}
			tr.check("after the crash of " + where)
		}
	}
}

func r19Chaos(t *testing.T, st strategy.Strategy, backs, together bool, seed uint64) {
	t.Logf("seed %d", seed)
	tr := newR19Tree(t, st, backs, together)
	tr.insideSeed.Store(seed << 20)
	for round := range uint64(3) {
		tr.storm(seed<<8+round, 6, 300)
		tr.gate.calmDown(t)
		tr.quiesce()
		tr.check(fmt.Sprintf("after storm %d", round))
		tr.repair()
		tr.check(fmt.Sprintf("after repair %d", round))
		tr.gate.reopen()
	}
	tr.gate.calmDown(t)
	for _, s := range tr.sups {
		ev := tr.evs[s]
		t.Logf("%s: %d crashes, %d exits, %d restarts, %d failed starts, %d give-ups, %d failed requests, %d removed",
			s.ShortLabel(), ev.count(supervisor.ChildCrashed, ""), ev.count(supervisor.ChildExited, ""),
			ev.count(supervisor.ChildRestarted, ""), ev.count(supervisor.StartFailed, ""),
			ev.count(supervisor.MaxRestartsExceeded, ""), ev.count(supervisor.RequestFailed, ""),
			ev.count(supervisor.ChildRemoved, ""))
	}
	tr.supervised()
	began := time.Now()
	ctx := bg(t)
	err := returnsWithin(t, 15*time.Second, func() error { return tr.root.Stop(ctx) })
	if err != nil {
		t.Errorf("root.Stop: %v", err)
	}
	if d := time.Since(began); d > 11*time.Second {
		t.Errorf("Stop took %v", d)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, s := range tr.all {
		if w, ok := s.(*r19w); ok && w.free.Load() {
			_ = w.Stop(ctx)
			continue
		}
		if st := s.State(); st == service.Running || st == service.Starting || st == service.Stopping {
			t.Errorf("%s %v after root's Stop", s.Label(), st)
		}
	}
	var left []string
	tr.root.Node().Walk(func(nd *graph.Node, _ int) bool {
		if s, ok := nd.Value().(service.Service); ok && s.State() == service.Running {
			left = append(left, s.Label())
		}
		return true
	})
	if len(left) > 0 {
		t.Errorf("running in the tree after Stop: %v", left)
	}
}

// TestReview19ChaosConsistency: the storm under every strategy, with and
// without backoff and StopTogether.
func TestReview19ChaosConsistency(t *testing.T) {
	seed := uint64(19)
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		for _, backs := range []bool{false, true} {
			for _, together := range []bool{false, true} {
				seed++
				name := fmt.Sprintf("%v/backoff=%v/together=%v", st, backs, together)
				t.Run(name, func(t *testing.T) { r19Chaos(t, st, backs, together, seed) })
			}
		}
	}
}

// TestReview19FailedManualRestart: a child's own Restart, or RestartChild,
// whose start fails left the child in Init, neither terminated nor
// restarted: listed as a Permanent child that does not run, whose crashes
// were ignored (it had no run), unsupervised for good. Now a terminated
// child stays terminated (OTP's restart_child leaves it so) and any other
// one's failed start is its crash: the strategy restarts it.
func TestReview19FailedManualRestart(t *testing.T) {
	for _, how := range []string{"own Restart", "RestartChild of a terminated child", "RestartChild during a backoff"} {
		for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll} {
			t.Run(how+"/"+st.String(), func(t *testing.T) {
				ctx := bg(t)
				clk := clock.NewFake(time.Unix(1000, 0))
				ev := newEvents()
				spec := supervisor.Spec{Service: service.Config{Name: "sup", Clock: clk}, Strategy: st}
				if how == "RestartChild during a backoff" {
					spec.Backoff = strategy.Backoff{Min: time.Second, Max: time.Second, NoJitter: true}
				}
				s := newSup(spec, ev)
				w, b := newD("w"), newD("b")
				const fail = 2 // the manual restart's start
				w.onStart = func(_ context.Context, n int32) error {
					if n == fail {
						return errBoom
					}
					return nil
				}
				must(t, s.Add(ctx, w))
				must(t, s.Add(ctx, b))
				must(t, service.Start(ctx, s))
				var err error
				switch how {
				case "own Restart":
					err = w.Restart(ctx)
				case "RestartChild of a terminated child":
					must(t, s.Terminate(ctx, "w"))
					err = s.RestartChild(ctx, "w")
				default:
					w.Crash(errBoom)
					ev.wait(t, supervisor.BackoffStarted, "w", 1)
					err = s.RestartChild(ctx, "w")
				}
				if !errors.Is(err, errBoom) {
					t.Fatalf("the manual restart: %v, want its start's error", err)
				}
				if spec.Backoff.Enabled() { // its failed start is its crash: a new backoff
					ev.wait(t, supervisor.BackoffStarted, "w", 2)
				}
				clk.Advance(time.Minute)
				clk.Settle()
				settle(t, ctx, s, ev)
				ci, _ := childInfo(t, s, "w")
				if how == "RestartChild of a terminated child" {
					if !ci.Terminated || ci.State == service.Running {
						t.Fatalf("a terminated child whose RestartChild failed: %+v; events %s", ci, ev)
					}
					must(t, s.RestartChild(ctx, "w")) // its third start succeeds
					ci, _ = childInfo(t, s, "w")
				}
				if ci.Terminated || ci.State != service.Running {
					t.Fatalf("after its failed manual restart: %+v; events %s", ci, ev)
				}
				// Supervised: its next crash is handled.
				n := ev.count(supervisor.ChildRestarted, "w")
				if spec.Backoff.Enabled() {
					bo := ev.count(supervisor.BackoffStarted, "w")
					w.Crash(errBoom)
					ev.wait(t, supervisor.BackoffStarted, "w", bo+1)
				} else {
					w.Crash(errBoom)
				}
				clk.Advance(time.Minute)
				ev.wait(t, supervisor.ChildRestarted, "w", n+1)
				clk.Settle()
				settle(t, ctx, s, ev)
				if st := w.State(); st != service.Running {
					t.Fatalf("after its next crash: %v; events %s", st, ev)
				}
				if st := b.State(); st != service.Running {
					t.Fatalf("its sibling: %v; events %s", st, ev)
				}
				must(t, s.Stop(ctx))
			})
		}
	}
}

// TestReview19GrandchildRestartWhileParentStarts: the Restart of a Base's
// child (not itself supervised) while its parent's restart is before its
// children step started the child behind the parent's back; when the
// parent's start then failed, it had not started the child, so its
// rollback left it running: the supervisor gave up (stopping the parent,
// in Init: nothing to stop) and the child ran on, orphaned, after the
// supervisor's Stop. Later a crash of that child left it Crashed, and no
// start of its parent could succeed again (ErrAlreadyStarted).
func TestReview19GrandchildRestartWhileParentStarts(t *testing.T) {
	for _, when := range []string{"before its children step", "rolled back"} {
		t.Run(when, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}, MaxRestarts: 1, Window: time.Hour}, ev)
			p, k := newD("p"), newD("k")
			entered, release := make(chan struct{}), make(chan error)
			p.onStart = func(_ context.Context, n int32) error {
				if n == 2 && when == "before its children step" {
					close(entered)
					return <-release
				}
				return nil
			}
			k.onStart = func(_ context.Context, n int32) error {
				if n == 2 && when == "rolled back" {
					p.Crash(errBoom) // p's start is aborted after it started k
				}
				return nil
			}
			restarted := make(chan error, 1)
			if when == "rolled back" {
				k.onShutdown = func(_ context.Context, n int32) error {
					if n == 2 { // the rollback's stop of k: a Restart from elsewhere waits for it
						go func() { restarted <- k.Restart(context.Background()) }()
					}
					return nil
				}
			}
			must(t, p.AddDependency(k))
			must(t, s.Add(ctx, p))
			must(t, service.Start(ctx, s))
			p.Crash(errBoom)
			if when == "before its children step" {
				recv(t, entered, "p's second OnStart")
				if err := k.Restart(ctx); !errors.Is(err, service.ErrNotStarted) {
					t.Errorf("k.Restart while p starts: %v, want ErrNotStarted", err)
				}
				release <- errBoom
			} else {
				if err := recv(t, restarted, "k.Restart during p's rollback"); !errors.Is(err, service.ErrNotStarted) {
					t.Errorf("k.Restart during p's rollback: %v, want ErrNotStarted", err)
				}
			}
			ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)
			_ = s.WaitUntilStopped(ctx)
			_ = s.Stop(ctx)
			if st := k.State(); st == service.Running || st == service.Starting {
				t.Errorf("k %v after its supervisor gave up and stopped (p %v); events %s", st, p.State(), ev)
				_ = k.Stop(ctx)
			}
		})
	}
}

// TestReview19AddCutShortByStop: an Add (or a RestartChild) whose child's
// start is cut short by the supervisor's Stop returned context.Canceled,
// as if its caller's ctx had ended; it says ErrNotRunning now (still
// matching context.Canceled, the start's error), and the child is not
// added (or stays down).
func TestReview19AddCutShortByStop(t *testing.T) {
	for _, op := range []string{"Add", "RestartChild"} {
		t.Run(op, func(t *testing.T) {
			ctx := bg(t)
			ev := newEvents()
			s := newSup(supervisor.Spec{Service: service.Config{Name: "sup"}}, ev)
			w := newD("w")
			entered := make(chan struct{})
			slow := int32(1)
			if op == "RestartChild" {
				slow = 2
			}
			w.onStart = func(ctx context.Context, n int32) error {
				if n == slow {
					close(entered)
					<-ctx.Done() // honours its ctx
					return ctx.Err()
				}
				return nil
			}
			if op == "RestartChild" {
				must(t, s.Add(ctx, w))
			}
			must(t, service.Start(ctx, s))
			if op == "RestartChild" {
				must(t, s.Terminate(ctx, "w"))
			}
			res := make(chan error, 1)
			go func() {
				if op == "Add" {
					res <- s.Add(ctx, w)
				} else {
					res <- s.RestartChild(ctx, "w")
				}
			}()
			recv(t, entered, "the child's start")
			stopped := make(chan error, 1)
			go func() { stopped <- s.Stop(ctx) }()
			err := recv(t, res, op)
			if !errors.Is(err, supervisor.ErrNotRunning) || ctx.Err() != nil {
				t.Errorf("%s cut short by the supervisor's Stop: %v, want ErrNotRunning", op, err)
			}
			must(t, recv(t, stopped, "Stop"))
			if st := w.State(); st == service.Running {
				t.Errorf("w %v", st)
			}
		})
	}
}
