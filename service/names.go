package service

import (
	"sync/atomic"

	"github.com/rs/zerolog"
)

// labels are a service's names, computed once (until Configure), and its
// logger (Log), built on first use with the short name (until Configure or
// a change of what source resolves to), and its pprof labels (labels.go),
// built on first use.
type labels struct {
	short, full string
	log         atomic.Pointer[builtLog]
	prof        atomic.Pointer[labelSet]
}

// builtLog is the logger Log built, and the source it was built from: it
// is stale once source resolves to another.
type builtLog struct {
	src *zerolog.Logger
	l   zerolog.Logger
}

// names returns b's labels, computing them if Configure or a handover
// dropped them. They are computed and stored under b.mu, as Configure and
// adopt drop them: names read before a change are never stored after it.
func (b *Base) names() *labels {
	if l := b.labels.Load(); l != nil {
		return l
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.labels.Load(); l != nil {
		return l
	}
	self, name := b.selfLocked(), b.cfg.Name
	l := &labels{short: name, full: labelOf(self, name)}
	if l.short == "" {
		l.short = typeName(self)
	}
	b.labels.Store(l)
	return l
}

// ShortLabel returns the configured name, else the Go type name of the value
// handed over (Python mode's shortlabel).
func (b *Base) ShortLabel() string { return b.names().short }

// Label returns "Type" or, when a name is configured, "Type(name)".
func (b *Base) Label() string { return b.names().full }

func labelOf(s Service, name string) string {
	t := typeName(s)
	if name == "" || name == t {
		return t
	}
	return t + "(" + name + ")"
}

// typeName is v's name for labels: a Func's own label, else its Go type's
// name (found once per type, infoOf).
func typeName(v any) string {
	if n, ok := v.(interface{ typeLabel() string }); ok {
		return n.typeLabel()
	}
	return infoOf(v).name
}
