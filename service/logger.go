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
// Config.Logger; else its parent's (the service or supervisor that owns
// it), resolved the same way; else the one of the ctx it was started with
// (WithLogger), for a service without a parent; else zerolog's global
// logger. The answer is cached until something it depends on changes
// (Configure, a new parent, a new start ctx's logger): resolving costs a
// walk up the tree, never an allocation.
func (b *Base) source() *zerolog.Logger {
	if l := b.src.Load(); l != nil {
		return l
	}
	b.mu.Lock()
	l := b.cfg.Logger
	b.mu.Unlock()
	if l == nil {
		if p, ok := b.node.Parent().Value().(Service); ok {
			l = p.base().source()
		} else if l = b.ctxLog.Load(); l == nil {
			l = globalLogger()
		}
	}
	b.src.Store(l)
	return l
}

// startLogger records the logger of a start ctx of a service without a
// parent: one ctx lookup, and a store only when it changed.
func (b *Base) startLogger(ctx context.Context) {
	if b.node.Parent() != nil {
		return
	}
	if l := loggerFrom(ctx); l != b.ctxLog.Load() {
		b.ctxLog.Store(l)
		b.dropLogCaches()
	}
}

// dropLogCaches forgets the resolved loggers of b and its subtree, after a
// change they depend on.
func (b *Base) dropLogCaches() {
	b.src.Store(nil)
	b.logger.Store(nil)
	for _, n := range b.node.Children() {
		if s, ok := n.Value().(Service); ok {
			s.base().dropLogCaches()
		}
	}
}
