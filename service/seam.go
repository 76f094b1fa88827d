package service

import (
	"context"
	"time"

	"github.com/gomode/mode/internal/seam"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

func globalLogger() *zerolog.Logger { return &log.Logger }

// Engine hands s over to the runtime and returns the engine's handle on
// it. It is for package supervisor of this module: its first argument
// cannot be made elsewhere. It returns ErrNilService for a nil s (or a
// typed nil pointer) and ErrTwoOwners as Start.
func Engine(_ seam.Token, s Service) (seam.Handle, error) {
	b, err := baseOf(s)
	if err != nil {
		return nil, err
	}
	return (*handle)(b), nil
}

// BaseEngine returns the engine's handle on b without handing it over: a
// supervisor's handle on its own embedded Base. Like Engine, it is for
// package supervisor of this module.
func BaseEngine(_ seam.Token, b *Base) seam.Handle { return (*handle)(b) }

// Restarting reads, in one locked section, what became of s once its
// run's Done has closed: while a Restart of s is in progress, a channel
// closed once it has ended and a function returning its error then (nil
// if it started s again); else s's state, whether another transition is
// in progress (busy: a Stop, say), the Done channel of its current run,
// and down: the last transition that ended was a Restart that left s down
// (its OnRestart or its start failed; not one a Stop aborted). It is for
// the Worker of this module: its first argument cannot be made elsewhere.
// A Restart closes the run's Done at its stop half, and the service runs
// again (a new run, a new Done) once its start half has completed; a
// Worker waiting on its root's Done tells the two apart with it, and a
// Restart that left the root down from a Stop after one that succeeded.
func Restarting(_ seam.Token, s Service) (restart <-chan struct{}, result func() error, st State, busy bool, done <-chan struct{}, down bool) {
	b := s.base()
	b.mu.Lock()
	defer b.mu.Unlock()
	if t := b.trans; t != nil && t.kind == transRestart {
		return t.waitCh(), func() error {
			b.mu.Lock()
			defer b.mu.Unlock()
			return t.err
		}, 0, false, nil, false
	}
	return nil, nil, b.State(), b.trans != nil, b.currentLocked().doneCh(), b.flags&restartDown != 0
}

// Retire marks s, a Worker's root, as stopped for good: from now on its
// own Start, MaybeStart and Restart return ErrStopped, so that nothing
// starts it again behind its Worker, which is about to stop it and
// return. It is for the Worker of this module: its first argument cannot
// be made elsewhere.
func Retire(_ seam.Token, s Service) {
	b := s.base()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.flags.set(retired, true)
}

// handle is a Base seen by its supervisor (seam.Handle).
type handle Base

var _ seam.Handle = (*handle)(nil)

func (h *handle) b() *Base { return (*Base)(h) }

func baseOfHandle(x seam.Handle) (*Base, error) {
	h, ok := x.(*handle)
	if !ok || h == nil {
		return nil, ErrNilService
	}
	return h.b(), nil
}

func (h *handle) Attach(child seam.Handle, link *seam.Link) error {
	cb, err := baseOfHandle(child)
	if err != nil {
		return err
	}
	return h.b().attachBase(cb, cb.self(), link, true)
}

func (h *handle) FromStartHook(child seam.Handle) error {
	cb, err := baseOfHandle(child)
	if err != nil {
		return err
	}
	return h.b().refuseFromStartHook(cb.self())
}

func (h *handle) Detach(child seam.Handle) error {
	cb, err := baseOfHandle(child)
	if err != nil {
		return err
	}
	return h.b().detach(cb.self())
}

func (h *handle) Replace(old, fresh seam.Handle) error {
	ob, err := baseOfHandle(old)
	if err != nil {
		return err
	}
	fb, err := baseOfHandle(fresh)
	if err != nil {
		return err
	}
	return h.b().replace(ob.self(), fb.self())
}

func (h *handle) Start(ctx, values context.Context, budget time.Duration) error {
	b := h.b()
	if err := b.stuckError(-1); err != nil { // never a new run beside a stuck one
		return err // it names b
	}
	return b.start(ctx, values, true, budget)
}

func (h *handle) Stop(ctx context.Context, budget time.Duration) error {
	return h.b().stop(ctx, stopBySup, budget)
}

func (h *handle) Halt() { h.b().halt() }

func (h *handle) Abandoned(what string, done <-chan struct{}) {
	b := h.b()
	b.addStuck(pathOf(b)+": "+what, done, false)
}

func (h *handle) Restart(stopCtx, ctx, values context.Context, budget time.Duration) (stopErr, err error) {
	return h.b().restart(stopCtx, ctx, values, budget, true)
}

func (h *handle) Inside(ctx context.Context) bool { return insideOf(ctx, h.b()) }

func (h *handle) ShortLabel() string {
	b := h.b()
	b.mu.Lock()
	self, name := b.selfLocked(), b.cfg.Name
	b.mu.Unlock()
	if name != "" {
		return name
	}
	return typeName(self)
}

func (h *handle) Exit() seam.Exit {
	b := h.b()
	b.mu.Lock()
	r := b.cur
	b.mu.Unlock()
	if r == nil || r.ctx == nil {
		return seam.Exit{}
	}
	e := seam.Exit{Run: r.num}
	if reason := r.crashReason(); reason != nil {
		e.Ended, e.Reason = true, reason
		return e
	}
	if r.has(runExited) && !r.has(runByParent) {
		e.Ended, e.Final = true, r.has(runFinal)
	}
	return e
}
