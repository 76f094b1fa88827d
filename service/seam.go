package service

import (
	"context"

	"github.com/gomode/mode/internal/seam"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

func globalLogger() *zerolog.Logger { return &log.Logger }

func init() {
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
		return child.(Service).base().stop(ctx, stopByParent, -1)
	}
	seam.Ops.Restart = func(ctx context.Context, child any) error {
		b := child.(Service).base()
		if b.State() == Init {
			return b.start(ctx, true)
		}
		return b.restart(ctx, -1)
	}
	seam.Ops.Hung = func(child any) bool {
		hung := false
		child.(Service).base().walk(func(d *Base) { hung = hung || d.hung.Load() > 0 })
		return hung
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
