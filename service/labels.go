package service

import (
	"context"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/seam"
)

// Profiler labels. Every goroutine the library starts for a service (its
// tasks, Func runs, timer loops, monitors, bounded hook calls, a
// supervisor's goroutine) carries two runtime/pprof labels from its first
// instruction: the service's path and the task's name. Goroutines started
// from there inherit them (the runtime copies a goroutine's labels to the
// goroutines it starts), so a profile or a stack dump says which service
// each goroutine works for.
const (
	// LabelService is the pprof label key holding the service's path from
	// the root, short labels joined by "/": "app/workers/pool".
	LabelService = "mode.service"
	// LabelTask is the pprof label key holding the task's name: the name
	// given to Go, the timer's name, the Func's name, "monitor: heartbeat",
	// a hook's name ("OnStop") for a bounded hook call, "supervisor" for a
	// supervisor's goroutine.
	LabelTask = "mode.task"
)

// maxLabelledTasks bounds the task names whose label context a service
// keeps: a service that names each task differently (one per connection,
// say) gets its labels built at each start beyond that, instead of an
// ever-growing cache.
const maxLabelledTasks = 64

// labelSet is a service's pprof label contexts, one per task name, each
// built once and kept until the service's path changes: the service or an
// ancestor is renamed (Configure) or moved in the tree. It is one
// allocation, plus one for a path of more than one service, at a
// service's first start, never on a restart. The contexts themselves
// (pprof's label list, its map and a context: three allocations) are
// shared by every service with the same path and task (sharedLabels).
type labelSet struct {
	chain [4]labelLink // the service, then its ancestors up to the root, as built...
	more  []labelLink  // ...beyond four
	depth int
	path  string

	first atomic.Pointer[taskLabels] // &task0 once set, read without the lock
	mu    sync.Mutex
	task0 taskLabels                 // the first task's, written once, before first
	tasks map[string]context.Context // the others'
}

// taskLabels is a task name and its label context.
type taskLabels struct {
	name string
	ctx  context.Context
}

// labelLink is one service of a path as it was when the path was built:
// its node, its Base (nil for a node without a service) and the names it
// had then. A node is part of one Base for life (Base embeds it), so a
// link with a Base reads the names from it, without asking the node for
// its value.
type labelLink struct {
	node  *graph.Node
	base  *Base
	names *labels
}

func (ls *labelSet) link(i int) *labelLink {
	if i < len(ls.chain) {
		return &ls.chain[i]
	}
	return &ls.more[i-len(ls.chain)]
}

// labelNamesOf returns the current names of the service at n, or nil.
func labelNamesOf(n *graph.Node) *labels {
	s, ok := n.Value().(Service)
	if !ok {
		return nil
	}
	return s.base().labels.Load()
}

// valid reports whether the path the set was built from is still the
// service's path: same nodes up to the root, none renamed since. It reads
// atomics only.
func (ls *labelSet) valid(b *Base) bool {
	n := &b.node
	for i := range ls.depth {
		l := ls.link(i)
		if n != l.node {
			return false
		}
		if l.base != nil {
			if l.base.labels.Load() != l.names {
				return false
			}
		} else if labelNamesOf(n) != nil { // a service has taken the node
			return false
		}
		n = n.Parent()
	}
	return n == nil
}

// profileLabels returns b's label set, building it when b has none yet or
// its path has changed. No allocation while the path stays the same.
func (b *Base) profileLabels() *labelSet {
	own := b.names()
	if ls := own.prof.Load(); ls != nil && ls.valid(b) {
		return ls
	}
	ls := &labelSet{}
	size := 0
	for n := &b.node; n != nil; n = n.Parent() {
		link := labelLink{node: n}
		if s, ok := n.Value().(Service); ok {
			link.base = s.base()
			link.base.names()
			link.names = link.base.labels.Load()
		}
		if ls.depth < len(ls.chain) {
			ls.chain[ls.depth] = link
		} else {
			ls.more = append(ls.more, link)
		}
		ls.depth++
		size += len(shortOf(link.names)) + 1
	}
	if ls.depth == 1 {
		ls.path = shortOf(ls.chain[0].names)
	} else {
		var p strings.Builder
		p.Grow(size)
		for i := ls.depth - 1; i >= 0; i-- {
			p.WriteString(shortOf(ls.link(i).names))
			if i > 0 {
				p.WriteByte('/')
			}
		}
		ls.path = p.String()
	}
	own.prof.Store(ls)
	return ls
}

// shortOf is the short label in l, or "?" for a node without a service.
func shortOf(l *labels) string {
	if l == nil {
		return "?"
	}
	return l.short
}

// task returns the label context of the task named name.
func (ls *labelSet) task(name string) context.Context {
	if f := ls.first.Load(); f != nil && f.name == name {
		return f.ctx // a Func's restart: its one task
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ctx, ok := ls.tasks[name]; ok {
		return ctx
	}
	ctx := sharedLabels.get(ls.path, name)
	switch {
	case ls.first.Load() == nil:
		ls.task0 = taskLabels{name: name, ctx: ctx}
		ls.first.Store(&ls.task0)
	case len(ls.tasks) < maxLabelledTasks:
		if ls.tasks == nil {
			ls.tasks = make(map[string]context.Context)
		}
		ls.tasks[name] = ctx
	}
	return ctx
}

// labelGoroutine sets the calling goroutine's pprof labels to b's path and
// task. Call it first thing on a goroutine started for b: it replaces
// whatever labels the goroutine inherited.
func (b *Base) labelGoroutine(task string) {
	pprof.SetGoroutineLabels(b.profileLabels().task(task))
}

// LabelGoroutine sets the calling goroutine's pprof labels to b's path
// and task (LabelService, LabelTask). It is for package supervisor, which
// labels its goroutine with it; its argument cannot be made elsewhere.
func LabelGoroutine(_ seam.Token, b *Base, task string) { b.labelGoroutine(task) }

// sharedLabels holds the label contexts of every (path, task) pair seen,
// so that services with the same path (siblings with the same name, a
// service built afresh for each run, as a Replacement child is) share one
// instead of each building pprof's list, map and context. Bounded: past
// maxSharedLabels pairs it forgets them all and starts over.
var sharedLabels labelCache

const maxSharedLabels = 4096

type labelCache struct {
	mu  sync.Mutex
	ctx map[[2]string]context.Context
}

// get returns the context carrying the labels of path and task.
func (c *labelCache) get(path, task string) context.Context {
	key := [2]string{path, task}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx, ok := c.ctx[key]; ok {
		return ctx
	}
	if c.ctx == nil || len(c.ctx) >= maxSharedLabels {
		c.ctx = make(map[[2]string]context.Context)
	}
	ctx := pprof.WithLabels(context.Background(), pprof.Labels(LabelService, path, LabelTask, task))
	c.ctx[key] = ctx
	return ctx
}
