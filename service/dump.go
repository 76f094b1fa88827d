package service

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gomode/mode/graph"
)

// Dumper is implemented by a service that adds lines of its own to Dump,
// under its own line (a supervisor adds its strategy, the restarts it has
// used and the restarts waiting out a backoff). DumpInfo returns one
// string a line. It is called while the tree runs, from whatever goroutine
// dumps it, also while the service's own goroutines hang: it must not wait
// for them, nor for a lock held while user code runs; a snapshot under a
// short lock or atomics is what it should read. A panic in it is shown in
// the dump instead of its lines.
type Dumper interface {
	DumpInfo() []string
}

// Dump renders the tree rooted at s as plain text. Each service gets a
// line: label, state, restart count, the hooks it has (so a misspelled
// hook, a method that is not a hook, shows as missing), its diag flags and
// its crash reason. Under it come its live tasks, its timers with their
// counters (TimerStats), its watchdogs (Watch), and what it adds itself
// (Dumper):
//
//	app [running] hooks=OnStart
//	│ tasks (2): fetch, every 1s
//	│ timer "every 1s": runs=3 skips=0 overlaps=0
//	└── workers [running]
//	    │ strategy one_for_one, restarts 2 of 3 in 5s
//	    │ child pool: restart due in 1.2s
//	    └── pool [init] restarts=2
//
// Durations are rounded. Dump is safe while the tree runs, also while
// hooks hang: it waits for no service; each line is a snapshot.
func Dump(s Service) string {
	if isNil(s) {
		return ""
	}
	var b strings.Builder
	dumpNode(&b, s.Node(), "", "")
	return b.String()
}

// dumpLineEscaper keeps each entry on one line of Dump's output.
var dumpLineEscaper = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// dumpNode writes n's line after lead (its branch), its details after
// prefix (the indent of its children), then its children.
func dumpNode(b *strings.Builder, n *graph.Node, lead, prefix string) {
	kids := n.Children()
	b.WriteString(lead)
	s, ok := n.Value().(Service)
	if !ok {
		b.WriteString("?\n")
	} else {
		b.WriteString(dumpLineEscaper.Replace(describe(s)))
		b.WriteByte('\n')
		bar := "  "
		if len(kids) > 0 {
			bar = "│ "
		}
		for _, l := range details(s) {
			b.WriteString(prefix)
			b.WriteString(bar)
			b.WriteString(dumpLineEscaper.Replace(l))
			b.WriteByte('\n')
		}
	}
	for i, c := range kids {
		branch, indent := "├── ", "│   "
		if i == len(kids)-1 {
			branch, indent = "└── ", "    "
		}
		dumpNode(b, c, prefix+branch, prefix+indent)
	}
}

// describe is Dump's line for one service.
func describe(s Service) string {
	var b strings.Builder
	b.WriteString(s.Label())
	b.WriteString(" [")
	b.WriteString(s.State().String())
	b.WriteString("]")
	if c := s.RestartCount(); c > 0 {
		b.WriteString(" restarts=" + strconv.Itoa(c))
	}
	if h := hookNames(s); h != "" {
		b.WriteString(" hooks=" + h)
	}
	if f := s.Diag().String(); f != "" {
		b.WriteString(" flags=" + f)
	}
	if r := s.CrashReason(); r != nil {
		b.WriteString(" reason=" + strconv.Quote(r.Error()))
	}
	return b.String()
}

// details are Dump's lines under a service: tasks, timers, watchdogs and
// the service's own (Dumper).
func details(s Service) []string {
	b := s.base()
	var out []string
	if names := b.Tasks(); len(names) > 0 {
		out = append(out, fmt.Sprintf("tasks (%d): %s", len(names), countedList(names)))
	}
	for _, t := range b.Timers() {
		l := fmt.Sprintf("timer %q: runs=%d skips=%d overlaps=%d", t.Name, t.Runs, t.Skipped, t.Overlaps)
		if t.Failures > 0 {
			l += " failures=" + strconv.FormatInt(t.Failures, 10)
		}
		if t.Drifts > 0 {
			l += " drifts=" + strconv.FormatInt(t.Drifts, 10)
		}
		if t.Workers > 1 {
			l += " workers=" + strconv.Itoa(t.Workers)
		}
		out = append(out, l)
	}
	out = append(out, b.watchLines()...)
	if d, ok := s.(Dumper); ok {
		out = append(out, dumperLines(d)...)
	}
	return out
}

// dumperLines calls d.DumpInfo, turning a panic into a line.
func dumperLines(d Dumper) (lines []string) {
	defer func() {
		if v := recover(); v != nil {
			lines = []string{fmt.Sprintf("DumpInfo panicked: %v", v)}
		}
	}()
	return d.DumpInfo()
}

// Tasks returns the names of the live tasks of b's current run (those
// started with Go, timers, a Func's run, monitors and watchdogs), sorted,
// a name once per task; nil when it has none. It takes b's lock briefly
// and waits for nothing, so a status page or a dump can call it while
// hooks hang.
func (b *Base) Tasks() []string {
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r == nil {
		return nil
	}
	if names := r.liveTaskNames(); len(names) > 0 {
		return names
	}
	return nil
}

// countedList joins sorted names, a name that occurs n > 1 times once as
// "name ×n".
func countedList(names []string) string {
	var b strings.Builder
	for i := 0; i < len(names); {
		j := i + 1
		for j < len(names) && names[j] == names[i] {
			j++
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(names[i])
		if j-i > 1 {
			b.WriteString(" ×" + strconv.Itoa(j-i))
		}
		i = j
	}
	return b.String()
}

// hookNames lists the optional hooks s implements, in lifecycle order.
func hookNames(s Service) string {
	var names []string
	h := hooksOf(s)
	for i, name := range hookLabels {
		if h&(1<<i) != 0 {
			names = append(names, name)
		}
	}
	return strings.Join(names, ",")
}
