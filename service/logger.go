package service

import (
	"context"

	"github.com/rs/zerolog"
)

// loggerKey is the context key of WithLogger.
type loggerKey struct{}

// WithLogger returns a copy of ctx carrying l: a service started under it
// (Start, MaybeStart, AddRuntimeDependency, a supervisor's Start) that has
// no Config.Logger of its own and no parent logs to l, and so do its
// children and their children, down to those with a logger of their own.
// A nil l is no logger: the services fall back as if ctx carried none.
//
// A service reads it when it starts without a parent; a change takes
// effect at its next start.
func WithLogger(ctx context.Context, l *zerolog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// loggerFrom returns the logger WithLogger put in ctx, or nil.
func loggerFrom(ctx context.Context) *zerolog.Logger {
	l, _ := ctx.Value(loggerKey{}).(*zerolog.Logger)
	return l
}

// source resolves the logger b's lines go to, before service= is added:
// Config.Logger (stored by Configure); else its parent's (the service or
// supervisor that owns it), resolved the same way; else, for a service
// without a parent, the one of the ctx it was last started with
// (WithLogger); else zerolog's global logger. An inherited answer is
// cached until something it depends on changes (Configure, a new parent,
// a new start ctx's logger): resolving costs a walk up the tree, never an
// allocation, and takes no lock (a caller may hold a parent's).
func (b *Base) source() *zerolog.Logger {
	for {
		if l := b.src.Load(); l != nil {
			return l
		}
		l := b.inherited()
		if !b.src.CompareAndSwap(nil, l) { // Configure or startLogger came first
			continue
		}
		// A change (a parent's Configure, a move) may have dropped the
		// caches between the read and the store: it changes what b
		// inherits first, then drops. Read again; a different answer
		// means the stored one is stale.
		if b.inherited() == l {
			return l
		}
		b.src.CompareAndSwap(l, nil)
	}
}

// inherited is the logger b would take from above: its parent's; for a
// service without a parent, the one of the ctx it was last started with
// (ctxLog, kept by startLogger), else zerolog's global logger.
func (b *Base) inherited() *zerolog.Logger {
	if p, ok := b.node.Parent().Value().(Service); ok {
		return p.base().source()
	}
	if l := b.ctxLog.Load(); l != nil {
		return l
	}
	return globalLogger()
}

// startLogger keeps the logger of the start ctx of a service without a
// parent (ctxLog), and drops the loggers resolved from the one before when
// it changed: one ctx lookup per start of a root, nothing for a child.
func (b *Base) startLogger(ctx context.Context) {
	if b.node.Parent() != nil {
		return
	}
	l := loggerFrom(ctx)
	if b.ctxLog.Load() == l {
		return
	}
	if b.ctxLog.Swap(l) != l {
		b.dropLogCaches()
	}
}

// dropLogCaches forgets the inherited loggers of b and its subtree, after
// a change they depend on. It takes their locks one at a time: call it
// holding none.
func (b *Base) dropLogCaches() {
	b.mu.Lock()
	if b.cfg.Logger == nil {
		b.src.Store(nil)
	}
	b.mu.Unlock()
	b.dropBuilt()
	b.dropKidsLogCaches()
}

func (b *Base) dropKidsLogCaches() {
	for _, n := range b.node.Children() {
		if s, ok := n.Value().(Service); ok {
			s.base().dropLogCaches()
		}
	}
}

// dropBuilt forgets the logger Log built.
func (b *Base) dropBuilt() {
	if n := b.labels.Load(); n != nil {
		n.log.Store(nil)
	}
}
