package service

import (
	"context"
	"time"

	"github.com/gomode/mode/internal/seam"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

func globalLogger() *zerolog.Logger { return &log.Logger }

// shutdownLimit is the stop budget a supervisor gives b: its link's
// shutdown timeout, or -1 for b's own stop timeout.
func (b *Base) shutdownLimit() time.Duration {
	if l := b.link.Load(); l != nil && l.ShutdownTimeout > 0 {
		return l.ShutdownTimeout
	}
	return -1
}

func init() {
	seam.Ops.Adopt = func(s any) error {
		_, err := baseOf(s.(Service))
		return err
	}
	seam.Ops.Attach = func(parent, child any, link *seam.Link, running bool) error {
		return parent.(Service).base().attach(child.(Service), link, running)
	}
	seam.Ops.Detach = func(parent, child any) error {
		return parent.(Service).base().detach(child.(Service))
	}
	seam.Ops.Replace = func(parent, old, fresh any) error {
		return parent.(Service).base().replace(old.(Service), fresh.(Service))
	}
	seam.Ops.Stop = func(ctx context.Context, child any) error {
		b := child.(Service).base()
		return b.stop(ctx, stopByParent, b.shutdownLimit())
	}
	seam.Ops.Restart = func(ctx context.Context, child any, hold bool) error {
		b := child.(Service).base()
		if b.State() == Init {
			return b.start(ctx, true)
		}
		return b.restart(ctx, b.shutdownLimit(), true, hold)
	}
	seam.Ops.Launch = func(child any) { child.(Service).base().launchHeld() }
	seam.Ops.Hung = func(child any) bool { return child.(Service).base().hungTree() }
	seam.Ops.Inside = func(ctx context.Context, target any) bool {
		return insideOf(ctx, target.(Service).base())
	}
	seam.Ops.Exited = func(child any) (error, bool, bool) {
		b := child.(Service).base()
		switch b.State() {
		case Crashed:
			return b.CrashReason(), false, true
		case Shutdown:
			return nil, b.final.Load(), true
		}
		return nil, false, false
	}
}
