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
	add := func(ok bool, name string) {
		if ok {
			names = append(names, name)
		}
	}
	_, ok := s.(Dependent)
	add(ok, "Dependencies")
	_, ok = s.(OnFirstStarter)
	add(ok, "OnFirstStart")
	_, ok = s.(OnStarter)
	add(ok, "OnStart")
	_, ok = s.(OnStartedHook)
	add(ok, "OnStarted")
	_, ok = s.(OnStopper)
	add(ok, "OnStop")
	_, ok = s.(OnShutdowner)
	add(ok, "OnShutdown")
	_, ok = s.(OnRestarter)
	add(ok, "OnRestart")
	_, ok = s.(Healthchecker)
	add(ok, "Healthcheck")
	return strings.Join(names, ",")
}
