package service

import (
	"context"
	"runtime/pprof"
	"strings"
	"sync"

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

// labelSet is a service's pprof label context, built once and kept until
// its path changes: the service or an ancestor is renamed (Configure) or
// moved in the tree. Each task name's context is built once too.
type labelSet struct {
	chain []labelLink     // the service, then its ancestors up to the root, as built
	ctx   context.Context // LabelService only

	mu    sync.Mutex
	tasks map[string]context.Context // LabelService and LabelTask
}

// labelLink is one service of a path as it was when the path was built:
// its node and the names it had then.
type labelLink struct {
	node  *graph.Node
	names *labels
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
	for _, l := range ls.chain {
		if n != l.node || labelNamesOf(n) != l.names {
			return false
		}
		n = n.Parent()
	}
	return n == nil
}

// profileLabels returns b's label set, building it when b has none yet or
// its path has changed. No allocation while the path stays the same.
func (b *Base) profileLabels() *labelSet {
	if ls := b.plabels.Load(); ls != nil && ls.valid(b) {
		return ls
	}
	ls := &labelSet{}
	var parts []string
	for n := &b.node; n != nil; n = n.Parent() {
		link := labelLink{node: n}
		short := "?"
		if s, ok := n.Value().(Service); ok {
			sb := s.base()
			short = sb.names().short
			link.names = sb.labels.Load()
		}
		ls.chain = append(ls.chain, link)
		parts = append(parts, short)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	ls.ctx = pprof.WithLabels(context.Background(), pprof.Labels(LabelService, strings.Join(parts, "/")))
	b.plabels.Store(ls)
	return ls
}

// task returns the label context of the task named name.
func (ls *labelSet) task(name string) context.Context {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ctx, ok := ls.tasks[name]; ok {
		return ctx
	}
	ctx := pprof.WithLabels(ls.ctx, pprof.Labels(LabelTask, name))
	if len(ls.tasks) < maxLabelledTasks {
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
