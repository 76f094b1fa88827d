package service

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/gomode/mode/diag"
	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/seam"
	"github.com/rs/zerolog"
)

// Service is a thing with a lifecycle: it starts, runs tasks and children,
// and stops. It is sealed: every implementation embeds Base, whose zero
// value is ready. Start one with Start, or hand it to a parent
// (AddDependency) or a supervisor.
type Service interface {
	// Stop stops the service: see Base.Stop.
	Stop(ctx context.Context) error
	// Restart stops, resets and starts the service: see Base.Restart.
	Restart(ctx context.Context) error
	// Crash records reason and crashes the service: see Base.Crash.
	Crash(reason error)
	// State is the current lifecycle state.
	State() State
	// RestartCount counts restarts of this service and of its ancestors.
	RestartCount() int
	// CrashReason is the reason of the current run's crash, or nil.
	CrashReason() error
	// Done is closed when the current run must end (stopping or crashed).
	Done() <-chan struct{}
	// WaitUntilStopped waits until the current run has ended.
	WaitUntilStopped(ctx context.Context) error
	// SetShutdown signals a Stop waiting for shutdown (WaitForShutdown).
	SetShutdown()
	// Label names the service with its type: "Type" or "Type(name)".
	Label() string
	// ShortLabel is the configured name, else the Go type name.
	ShortLabel() string
	// Node is the service's place in the tree.
	Node() *graph.Node
	// Diag is the set of flags telling what the service is doing now.
	Diag() *diag.Diag
	// Log is the service's logger (service=<ShortLabel> on every line).
	Log() *zerolog.Logger

	base() *Base
}

// noCopy makes go vet's copylocks check flag copies of Base.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// baseFlags are a Base's flags, one byte for them all (Base's size
// class): guarded by Base.mu.
type baseFlags uint8

const (
	// depsDone: Dependencies() was called.
	depsDone baseFlags = 1 << iota
	// restartDown: the last transition ended was a Restart that left the
	// service down (its OnRestart or its start failed; not a Stop's abort
	// of it). For service.Restarting.
	restartDown
	// retired: its Worker has begun its final stop (Retire): its own
	// Start and Restart return ErrStopped.
	retired
)

// set sets or clears f in *b.
func (b *baseFlags) set(f baseFlags, on bool) {
	if on {
		*b |= f
	} else {
		*b &^= f
	}
}

// Base is the lifecycle every service embeds, by value. Its zero value is
// ready: no constructor, no back-pointer to set. The runtime records the
// outer value (the one whose hooks it calls) when the service is handed over
// by Start, MaybeStart, AddDependency or a supervisor's Add. A Base must not
// be copied after first use.
type Base struct {
	_ noCopy

	mu         sync.Mutex // guards everything below that is not atomic
	owner      Service    // its machinery (machineryOf) and Func (funcLocked) are read from it
	cfg        Config
	cur        *run        // current run, or the next one once Done was asked
	trans      *transition // transition in progress
	spareTrans *transition // the last one ended, which nobody waited for
	children   []Service
	stuck      []*stuck // user code abandoned by a Stop or a Start, maybe still running
	runs       uint64   // runs begun (numbers them for seam.Exit)
	firstOK    bool     // OnFirstStart has once returned nil
	flags      baseFlags
	hooks      hookSet // the hooks owner implements

	state atomic.Int32
	// kids: len(children), readable without the lock (kidCount), and the
	// unreached mark (kidsUnreached): the start of its parent has begun
	// its children step and has not started it yet, so its own Restart
	// is refused (parentDown). The mark is set under the parent's mu as
	// the step begins (a plain parent's: a machinery starts its children
	// itself), cleared by the step and when it is attached to a parent.
	// One word for both keeps Base in its 320-byte size class.
	kids     atomic.Int32
	nstuck   atomic.Int32 // len(stuck), readable without the lock
	restarts atomic.Int64
	link     atomic.Pointer[seam.Link]
	src      atomic.Pointer[zerolog.Logger] // source(): cfg.Logger, else resolved on first use
	ctxLog   atomic.Pointer[zerolog.Logger] // WithLogger's logger in its last start ctx, for a service without a parent
	labels   atomic.Pointer[labels]         // cached ShortLabel and Label, and the logger

	node graph.Node
	diag diag.Diag
}

func (b *Base) base() *Base { return b }

// kidsUnreached is the unreached mark's bit in Base.kids.
const kidsUnreached = 1 << 30

// kidCount is len(children), read without the lock.
func (b *Base) kidCount() int { return int(b.kids.Load() &^ kidsUnreached) }

// setKidCount records len(children) (b.mu is held), keeping the mark.
func (b *Base) setKidCount(n int) {
	for {
		old := b.kids.Load()
		if b.kids.CompareAndSwap(old, old&kidsUnreached|int32(n)) {
			return
		}
	}
}

// setUnreached sets or clears b's unreached mark (see Base.kids).
func (b *Base) setUnreached(on bool) {
	if on {
		b.kids.Or(kidsUnreached)
	} else {
		b.kids.And(^kidsUnreached)
	}
}

// unreached reports b's unreached mark (see Base.kids).
func (b *Base) unreached() bool { return b.kids.Load()&kidsUnreached != 0 }

// baseOf returns the Base of s, refusing nil and typed nil pointers, and
// records s as its owner.
func baseOf(s Service) (*Base, error) {
	if isNil(s) {
		return nil, ErrNilService
	}
	b := s.base()
	return b, b.adopt(s)
}

// isNil reports whether v is nil or a typed nil pointer.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// adopt records s as the value whose hooks the runtime calls.
func (b *Base) adopt(s Service) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.owner {
	case s:
		return nil
	case nil:
		b.owner = s
		b.hooks = hooksOf(s)
		b.node.SetValue(s)
		b.labels.Store(nil)
		return nil
	}
	return errorf(ErrTwoOwners, "%s", labelOf(b.owner, b.cfg.Name))
}

// self is the handed-over value (or b itself before any handover).
func (b *Base) self() Service {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.selfLocked()
}

func (b *Base) selfLocked() Service {
	if b.owner == nil {
		return b
	}
	return b.owner
}

// funcLocked is the handed-over value when it is a Func, else nil. b.mu
// is held.
func (b *Base) funcLocked() *FuncService {
	f, _ := b.owner.(*FuncService)
	return f
}

// machineryOf returns the machinery of s (a supervisor's: it starts and
// stops the children), or nil. The handover records whether there is one
// (hasMachinery), so that a leaf's start and stop skip the assertion.
func machineryOf(s Service) seam.Machinery {
	if m, ok := s.(interface {
		Machinery(seam.Token) seam.Machinery
	}); ok {
		return m.Machinery(seam.Token{})
	}
	return nil
}

// Configure sets the service's configuration: it replaces the whole
// Config, as an assignment of a struct literal does. A second Configure
// does not merge with the first: every field it leaves zero goes back to
// its default, so
//
//	s.Configure(service.Config{Name: "api"})
//	s.Configure(service.Config{StopTimeout: time.Second}) // Name is "" again
//
// leaves the service unnamed. To change one field, read, modify, write:
//
//	cfg := s.Config()
//	cfg.StopTimeout = time.Second
//	s.Configure(cfg)
//
// A Supervisor made by supervisor.New was configured with Spec.Service;
// the same rule applies to a later Configure (Spec then reports it).
//
// Call it before the service is started; a call on a running service takes
// effect at its next start (Name and Logger at once, the logger for its
// children without a logger of their own too; a running service without a
// parent and without a Logger keeps the one of its start ctx, WithLogger).
// Safe for concurrent use.
func (b *Base) Configure(cfg Config) {
	b.mu.Lock()
	b.cfg = cfg
	b.src.Store(cfg.Logger)
	b.labels.Store(nil) // under mu: names() cannot store names read before
	b.mu.Unlock()
	b.dropLogCaches()
}

// Config returns the configuration set by the last Configure (zero fields
// mean their defaults; the zero Config if Configure was never called).
func (b *Base) Config() Config {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg
}

// State returns the current state. Safe for concurrent use.
func (b *Base) State() State { return State(b.state.Load()) }

// RestartCount returns how many times this service was reset by a restart:
// its own and those of its ancestors (a restart increments it through the
// whole subtree).
func (b *Base) RestartCount() int { return int(b.restarts.Load()) }

// ShouldStop reports whether the current run must end: the service is
// stopping or has crashed (Python mode's should_stop).
func (b *Base) ShouldStop() bool {
	select {
	case <-b.Done():
		return true
	default:
		return false
	}
}

// Node returns the service's node in the tree. The runtime maintains it.
func (b *Base) Node() *graph.Node { return &b.node }

// Diag returns the flag set telling what the service is doing now.
func (b *Base) Diag() *diag.Diag { return &b.diag }

// Log returns the service's logger, with service=<ShortLabel> on every
// line. Its lines go to, in this order:
//
//  1. Config.Logger, if set;
//  2. else the logger of its parent (the service or supervisor it was added
//     to), resolved by the same rules;
//  3. else, for a service without a parent, the logger of the ctx it was
//     last started with (WithLogger);
//  4. else zerolog's global logger (github.com/rs/zerolog/log.Logger).
//
// It is built on first use and kept until Configure, a new parent or a new
// start ctx's logger changes what it resolves to.
func (b *Base) Log() *zerolog.Logger {
	n, src := b.names(), b.source()
	if c := n.log.Load(); c != nil && c.src == src {
		return &c.l
	}
	c := &builtLog{src: src, l: src.With().Str("service", n.short).Logger()}
	n.log.Store(c)
	return &c.l
}

// lifecycleOn reports whether b's lifecycle lines (Starting, Started,
// Stopping, Stopped) are written: a start and a stop check it once, so a
// disabled logger costs a restart two checks and builds no per-service
// logger (built on first use only).
func (b *Base) lifecycleOn(cfg *Config) bool { return b.enabled(cfg.LogLevel) }

// mundane logs a lifecycle line at the configured level, if on
// (lifecycleOn).
func (b *Base) mundane(on bool, cfg *Config, msg string) {
	if on {
		b.Log().WithLevel(cfg.LogLevel).Msg(msg)
	}
}

// LogEnabled reports whether b writes lines at lvl, without building its
// logger. It is for package supervisor, which makes a line's fields only
// then; its argument cannot be made elsewhere.
func LogEnabled(_ seam.Token, b *Base, lvl zerolog.Level) bool { return b.enabled(lvl) }

// enabled reports whether a line at lvl would be written, without
// building the service's logger.
func (b *Base) enabled(lvl zerolog.Level) bool {
	return lvl >= b.source().GetLevel() && lvl >= zerolog.GlobalLevel()
}

// childrenSnapshot returns the children in the order added. A leaf answers
// without taking its lock: restarts and crashes ask every service.
func (b *Base) childrenSnapshot() []Service {
	if b.kidCount() == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.childrenLocked()
}

// childrenLocked is childrenSnapshot with b.mu held.
func (b *Base) childrenLocked() []Service {
	return append([]Service(nil), b.children...)
}
