package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/gomode/mode/internal/logline"
	"github.com/thejerf/suture/v4"
)

// FromSuture adapts a suture service into a leaf Service. Each run calls
// ss.Serve with the run context: nil is a normal exit;
// suture.ErrDoNotRestart is a normal exit after which no supervisor starts
// it again; suture.ErrTerminateSupervisorTree is a crash that makes the
// supervisor above give up like ErrMaxRestarts; any other error is a crash.
// The ShortLabel is fmt.Sprint(ss) when ss is a fmt.Stringer, else "suture".
func FromSuture(ss suture.Service) *FuncService {
	name := "suture"
	if s, ok := ss.(fmt.Stringer); ok {
		name = s.String()
	}
	if ss == nil {
		return Func(name, nil)
	}
	return Func(name, func(ctx context.Context) error {
		err := ss.Serve(ctx)
		if errors.Is(err, suture.ErrDoNotRestart) {
			return errFinal
		}
		return err
	})
}

// ToSuture adapts s into a suture service. Serve starts s (or restarts it if
// it ran before), blocks until ctx is done or s's run ends, then stops s.
// It returns ctx.Err() when ctx ended, the crash reason when s crashed,
// and nil when s exited normally.
func ToSuture(s Service) suture.Service { return sutureAdapter{s} }

type sutureAdapter struct{ s Service }

func (a sutureAdapter) String() string {
	if a.s == nil {
		return "<nil>"
	}
	return a.s.ShortLabel()
}

func (a sutureAdapter) Serve(ctx context.Context) error {
	b, err := baseOf(a.s)
	if err != nil {
		return err
	}
	if b.State() == Init {
		err = b.start(ctx, nil, false, -1)
	} else {
		var stopErr error
		if stopErr, err = b.restart(ctx, ctx, nil, -1, false); err == nil && stopErr != nil {
			logline.Err(b.Log().Warn, stopErr, "stopping the last run")
		}
	}
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		_ = b.stop(context.WithoutCancel(ctx), stopByParent, -1)
		return ctx.Err()
	case <-b.Done():
	}
	reason := b.CrashReason()
	_ = b.stop(context.WithoutCancel(ctx), stopByParent, -1)
	return reason
}
