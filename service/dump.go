package service

import (
	"strconv"
	"strings"

	"github.com/gomode/mode/graph"
)

// Dump renders the tree rooted at s as plain text, one service a line:
// label, state, restart count, the hooks it has and its diag flags, so a
// misspelled hook (a method that is not a hook) shows as missing:
//
//	App [running] hooks=OnStart,OnStop
//	└── Consumer(consumer) [running] restarts=1 hooks=OnStart flags=committing
//
// Dump is safe while the tree runs; each line is a snapshot.
func Dump(s Service) string {
	if isNil(s) {
		return ""
	}
	return graph.Text(s.Node(), describe)
}

// describe is Dump's line for one node.
func describe(n *graph.Node) string {
	s, ok := n.Value().(Service)
	if !ok {
		return "?"
	}
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
