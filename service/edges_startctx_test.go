package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// startHookSvc is a service whose start hooks are function fields (nil:
// no-op).
type startHookSvc struct {
	service.Base
	onFirstStart, onStart, onStarted func(ctx context.Context) error
}

func newStartHookSvc(name string) *startHookSvc {
	s := &startHookSvc{}
	s.Configure(service.Config{Name: name, Logger: &quiet})
	return s
}

func (s *startHookSvc) OnFirstStart(ctx context.Context) error { return callIf(s.onFirstStart, ctx) }
func (s *startHookSvc) OnStart(ctx context.Context) error      { return callIf(s.onStart, ctx) }
func (s *startHookSvc) OnStarted(ctx context.Context) error    { return callIf(s.onStarted, ctx) }

var (
	_ service.OnFirstStarter = (*startHookSvc)(nil)
	_ service.OnStarter      = (*startHookSvc)(nil)
	_ service.OnStartedHook  = (*startHookSvc)(nil)
)

// TestDefectStartCtxEndInHook: when the ctx of a start ends while a start
// hook (OnFirstStart, OnStart, OnStarted) runs, the hook's own ctx ends
// with the same error, and the start's error says why: errors.Is(err,
// context.DeadlineExceeded) (and not context.Canceled) when its deadline
// passed, errors.Is(err, context.Canceled) (and not DeadlineExceeded)
// when the caller cancelled it. For Start, MaybeStart, a Restart's start
// half, a child started by its parent, a supervisor starting its children
// and a supervisor's Add, with a hook returning ctx.Err() bare or wrapped.
func TestDefectStartCtxEndInHook(t *testing.T) {
	type target struct {
		hooked *startHookSvc // the service whose hook waits
		// start starts the tree under ctx; cleanup (may be nil) stops
		// what runs after the start failed.
		start   func(ctx context.Context) error
		cleanup func()
	}
	vias := []struct {
		name  string
		setup func(t *testing.T, hooked *startHookSvc) target
	}{
		{"Start", func(t *testing.T, h *startHookSvc) target {
			return target{hooked: h, start: func(ctx context.Context) error { return service.Start(ctx, h) }}
		}},
		{"MaybeStart", func(t *testing.T, h *startHookSvc) target {
			return target{hooked: h, start: func(ctx context.Context) error {
				started, err := service.MaybeStart(ctx, h)
				if started {
					return errors.New("MaybeStart reports a start")
				}
				return err
			}}
		}},
		{"Restart's start half", func(t *testing.T, h *startHookSvc) target {
			return target{hooked: h, start: func(ctx context.Context) error {
				hooks := [3]func(context.Context) error{h.onFirstStart, h.onStart, h.onStarted}
				h.onFirstStart, h.onStart, h.onStarted = nil, nil, nil
				if err := service.Start(context.Background(), h); err != nil {
					return fmt.Errorf("first start: %w", err)
				}
				h.onFirstStart, h.onStart, h.onStarted = hooks[0], hooks[1], hooks[2]
				return h.Restart(ctx)
			}}
		}},
		{"child of a parent", func(t *testing.T, h *startHookSvc) target {
			p := newStartHookSvc("parent")
			must(t, p.AddDependency(h))
			return target{hooked: h, start: func(ctx context.Context) error { return service.Start(ctx, p) }}
		}},
		{"grandchild", func(t *testing.T, h *startHookSvc) target {
			p, mid := newStartHookSvc("parent"), newStartHookSvc("mid")
			must(t, mid.AddDependency(h))
			must(t, p.AddDependency(mid))
			return target{hooked: h, start: func(ctx context.Context) error { return service.Start(ctx, p) }}
		}},
		{"supervisor starting its children", func(t *testing.T, h *startHookSvc) target {
			sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
			must(t, sup.Add(context.Background(), newStartHookSvc("before")))
			must(t, sup.Add(context.Background(), h))
			return target{hooked: h, start: func(ctx context.Context) error { return service.Start(ctx, sup) }}
		}},
		{"supervisor under a parent", func(t *testing.T, h *startHookSvc) target {
			p := newStartHookSvc("parent")
			sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
			must(t, sup.Add(context.Background(), h))
			must(t, p.AddDependency(sup))
			return target{hooked: h, start: func(ctx context.Context) error { return service.Start(ctx, p) }}
		}},
		{"supervisor's Add", func(t *testing.T, h *startHookSvc) target {
			sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup", Logger: &quiet}})
			must(t, service.Start(context.Background(), sup))
			return target{hooked: h,
				start:   func(ctx context.Context) error { return sup.Add(ctx, h) },
				cleanup: func() { must(t, sup.Stop(context.Background())) }}
		}},
	}
	hooks := []struct {
		name string
		set  func(h *startHookSvc, fn func(context.Context) error)
	}{
		{"OnFirstStart", func(h *startHookSvc, fn func(context.Context) error) { h.onFirstStart = fn }},
		{"OnStart", func(h *startHookSvc, fn func(context.Context) error) { h.onStart = fn }},
		{"OnStarted", func(h *startHookSvc, fn func(context.Context) error) { h.onStarted = fn }},
	}
	returns := []struct {
		name string
		ret  func(ctx context.Context) error
	}{
		{"ctx.Err()", func(ctx context.Context) error { return ctx.Err() }},
		{"wrapped", func(ctx context.Context) error { return fmt.Errorf("dial db: %w", ctx.Err()) }},
	}
	ends := []struct {
		name      string
		want, not error
	}{
		{"deadline", context.DeadlineExceeded, context.Canceled},
		{"cancel", context.Canceled, context.DeadlineExceeded},
	}
	for _, via := range vias {
		for _, hk := range hooks {
			if hk.name == "OnFirstStart" && via.name == "Restart's start half" {
				continue // a restart does not call it
			}
			for _, rt := range returns {
				for _, end := range ends {
					name := strings.Join([]string{via.name, hk.name, rt.name, end.name}, "/")
					t.Run(name, func(t *testing.T) {
						synctest.Test(t, func(t *testing.T) {
							h := newStartHookSvc("hooked")
							entered := make(chan struct{}, 1)
							looked := make(chan struct{}) // the hook has read its ctx's end
							var saw, sawCause error
							hk.set(h, func(ctx context.Context) error {
								entered <- struct{}{}
								<-ctx.Done()
								saw, sawCause = ctx.Err(), context.Cause(ctx)
								close(looked)
								return rt.ret(ctx)
							})
							tg := via.setup(t, h)
							ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
							defer cancel()
							errc := make(chan error, 1)
							go func() { errc <- tg.start(ctx) }()
							<-entered
							if end.name == "cancel" {
								cancel()
							}
							err := <-errc
							// A supervisor's Add returns when its ctx ends,
							// maybe before its start hook has heard of it;
							// a cleanup stopping the supervisor then could
							// end the hook's ctx first, with Canceled.
							<-looked
							if tg.cleanup != nil {
								tg.cleanup()
							}
							if !errors.Is(err, end.want) || errors.Is(err, end.not) {
								t.Errorf("start error %q: want errors.Is %v and not %v", err, end.want, end.not)
							}
							if !errors.Is(saw, end.want) || !errors.Is(sawCause, end.want) {
								t.Errorf("the hook saw ctx.Err() %v, cause %v; want %v", saw, sawCause, end.want)
							}
							if got := h.State(); got != service.Init {
								t.Errorf("hooked service %v after the failed start, want Init", got)
							}
						})
					})
				}
			}
		}
	}
}

// TestDefectStartCtxEndStashedHookCtx: the start's ctx ending after the
// start succeeded does not end the ctx its start hooks got (a hook may
// hand it to code that runs until Stop); Stop ends it, with ErrStopped as
// its cause.
func TestDefectStartCtxEndStashedHookCtx(t *testing.T) {
	for _, hook := range []string{"OnFirstStart", "OnStart", "OnStarted"} {
		t.Run(hook, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newStartHookSvc("stash")
				var stashed context.Context
				keep := func(ctx context.Context) error { stashed = ctx; return nil }
				switch hook {
				case "OnFirstStart":
					h.onFirstStart = keep
				case "OnStart":
					h.onStart = keep
				default:
					h.onStarted = keep
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				must(t, service.Start(ctx, h))
				if _, ok := stashed.Deadline(); ok {
					t.Errorf("the hook ctx still reports the start's deadline after the start")
				}
				time.Sleep(2 * time.Second) // past the start ctx's deadline
				if err := stashed.Err(); err != nil {
					t.Fatalf("the hook ctx ended with the start ctx after the start: %v", err)
				}
				must(t, h.Stop(context.Background()))
				synctest.Wait()
				if !errors.Is(stashed.Err(), context.Canceled) || !errors.Is(context.Cause(stashed), service.ErrStopped) {
					t.Fatalf("after Stop the hook ctx has err %v, cause %v; want Canceled, ErrStopped", stashed.Err(), context.Cause(stashed))
				}
			})
		})
	}
}

// TestDefectStartCtxEndHookIgnoresCtx: a start hook that ignores its ctx
// is abandoned once the start ctx has ended; the start's error names it
// (ErrStopTimeout) and says why the start ended: errors.Is(err,
// context.DeadlineExceeded) or context.Canceled, as the caller checks.
func TestDefectStartCtxEndHookIgnoresCtx(t *testing.T) {
	for _, hook := range []string{"OnFirstStart", "OnStart", "OnStarted"} {
		for _, end := range []struct {
			name      string
			want, not error
		}{
			{"deadline", context.DeadlineExceeded, context.Canceled},
			{"cancel", context.Canceled, context.DeadlineExceeded},
		} {
			t.Run(hook+"/"+end.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					h := newStartHookSvc("deaf")
					entered, release := make(chan struct{}), make(chan struct{})
					deaf := func(context.Context) error { close(entered); <-release; return nil }
					switch hook {
					case "OnFirstStart":
						h.onFirstStart = deaf
					case "OnStart":
						h.onStart = deaf
					default:
						h.onStarted = deaf
					}
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					errc := make(chan error, 1)
					go func() { errc <- service.Start(ctx, h) }()
					<-entered
					if end.name == "cancel" {
						cancel()
					}
					err := <-errc
					close(release)
					if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), hook+" did not return") {
						t.Errorf("start error %q: want ErrStopTimeout naming %s", err, hook)
					}
					if !errors.Is(err, end.want) || errors.Is(err, end.not) {
						t.Errorf("start error %q: want errors.Is %v and not %v", err, end.want, end.not)
					}
					synctest.Wait()
				})
			})
		}
	}
}
