package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// probed is a service whose Healthcheck is given by the test.
type probed struct {
	service.Base
	check func(ctx context.Context) error
}

func (p *probed) Healthcheck(ctx context.Context) error { return p.check(ctx) }

// plain has no Healthcheck hook.
type plain struct{ service.Base }

// hushed configures s with a disabled logger and returns it.
func hushed[S interface{ Configure(service.Config) }](s S) S {
	s.Configure(service.Config{Logger: &quiet})
	return s
}

func TestCheckHealth(t *testing.T) {
	boom := errors.New("db down")
	tests := []struct {
		name  string
		svc   func() service.Service
		start bool
		after func(s service.Service) // before CheckHealth
		ctx   func() context.Context  // CheckHealth's ctx; nil: with and without a deadline
		want  []error                 // errors.Is targets; none: nil
	}{
		{name: "nil service", svc: func() service.Service { return nil }, want: []error{service.ErrNilService}},
		{name: "typed nil", svc: func() service.Service { return (*plain)(nil) }, want: []error{service.ErrNilService}},
		{name: "init", svc: func() service.Service { return hushed(&plain{}) }, want: []error{service.ErrNotRunning}},
		{name: "running without a hook", svc: func() service.Service { return hushed(&plain{}) }, start: true},
		{name: "healthy", start: true, svc: func() service.Service {
			return hushed(&probed{check: func(context.Context) error { return nil }})
		}},
		{name: "unhealthy", start: true, svc: func() service.Service {
			return hushed(&probed{check: func(context.Context) error { return boom }})
		}, want: []error{service.ErrUnhealthy, boom}},
		{name: "panic", start: true, svc: func() service.Service {
			return hushed(&probed{check: func(context.Context) error { panic("oops") }})
		}, want: []error{service.ErrUnhealthy, service.ErrPanic}},
		{name: "ctx ended already", start: true, svc: func() service.Service {
			return hushed(&probed{check: func(context.Context) error { panic("called with an ended ctx") }})
		}, ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, want: []error{service.ErrUnhealthy, context.Canceled}},
		{name: "stopped", start: true, svc: func() service.Service { return hushed(&plain{}) },
			after: func(s service.Service) { _ = s.Stop(context.Background()) },
			want:  []error{service.ErrNotRunning}},
		{name: "crashed", start: true, svc: func() service.Service {
			return hushed(&probed{check: func(context.Context) error { return nil }})
		}, after: func(s service.Service) {
			s.Crash(boom)
			<-s.Done()
		}, want: []error{service.ErrNotRunning, boom}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.svc()
			if tt.start {
				if err := service.Start(context.Background(), s); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = s.Stop(context.Background()) }()
			}
			if tt.after != nil {
				tt.after(s)
			}
			ctxs := []context.Context{context.Background(), t.Context()} // without and with a goroutine
			if tt.ctx != nil {
				ctxs = []context.Context{tt.ctx()}
			}
			for _, ctx := range ctxs {
				err := service.CheckHealth(ctx, s)
				if len(tt.want) == 0 && err != nil {
					t.Fatalf("CheckHealth: %v, want nil", err)
				}
				for _, w := range tt.want {
					if !errors.Is(err, w) {
						t.Fatalf("CheckHealth: %v, want errors.Is %v", err, w)
					}
				}
			}
		})
	}
}

// TestCheckHealthBounded: a hook that ignores its ctx is abandoned when
// the caller's ctx ends, and logged when it returns; a hook waiting on its
// ctx ends when the service stops.
func TestCheckHealthBounded(t *testing.T) {
	t.Run("caller's deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			release := make(chan struct{})
			logs := &logBuf{}
			l := zerolog.New(logs)
			p := &probed{check: func(context.Context) error { <-release; return errors.New("late") }}
			p.Configure(service.Config{Logger: &l})
			if err := service.Start(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := service.CheckHealth(ctx, p)
			if !errors.Is(err, service.ErrUnhealthy) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("CheckHealth: %v, want ErrUnhealthy and DeadlineExceeded", err)
			}
			close(release)
			synctest.Wait()
			if got := logs.String(); !contains(got, "returned late") || !contains(got, "late") {
				t.Errorf("log %q does not report the late return", got)
			}
			if err := p.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("service stops during the check", func(t *testing.T) {
		entered := make(chan struct{})
		p := hushed(&probed{check: func(ctx context.Context) error {
			close(entered)
			<-ctx.Done()
			return ctx.Err()
		}})
		if err := service.Start(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-entered
			_ = p.Stop(context.Background())
		}()
		err := service.CheckHealth(context.Background(), p)
		wg.Wait()
		if !errors.Is(err, service.ErrNotRunning) {
			t.Fatalf("CheckHealth: %v, want ErrNotRunning", err)
		}
	})
}

// TestCheckHealthConcurrent calls CheckHealth from several goroutines
// while monitoring calls the same hook and the service restarts.
func TestCheckHealthConcurrent(t *testing.T) {
	l := zerolog.Nop()
	p := &probed{check: func(ctx context.Context) error { return ctx.Err() }}
	p.Configure(service.Config{Logger: &l, MonitoringInterval: time.Millisecond})
	if err := service.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				err := service.CheckHealth(context.Background(), p)
				if err != nil && !errors.Is(err, service.ErrNotRunning) {
					t.Errorf("CheckHealth: %v", err)
					return
				}
			}
		}()
	}
	for range 5 {
		if err := p.Restart(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestCheckHealthAbandonedNamedByStop: a Healthcheck that CheckHealth gave
// up on and that still runs outlives nothing silently: the service's Stop
// names it (ErrStopTimeout); once it has returned, a Stop says nothing.
func TestCheckHealthAbandonedNamedByStop(t *testing.T) {
	for _, tc := range []struct {
		name         string
		releaseFirst bool // the hook returns before the Stop
	}{
		{name: "still running at the stop"},
		{name: "returned before the stop", releaseFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				p := hushed(&probed{check: func(context.Context) error { <-release; return nil }})
				p.Configure(service.Config{Name: "db", Logger: &quiet})
				if err := service.Start(context.Background(), p); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := service.CheckHealth(ctx, p); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("CheckHealth: %v, want DeadlineExceeded", err)
				}
				if tc.releaseFirst {
					close(release)
					synctest.Wait()
				}
				err := p.Stop(context.Background())
				if !tc.releaseFirst {
					close(release)
					synctest.Wait()
					if !errors.Is(err, service.ErrStopTimeout) || !strings.Contains(err.Error(), "Healthcheck (CheckHealth)") {
						t.Fatalf("Stop: %v, want ErrStopTimeout naming the abandoned Healthcheck", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Stop: %v, want nil", err)
				}
			})
		})
	}
}
