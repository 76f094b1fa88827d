package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// etNode is a service whose hooks fail as told.
type etNode struct {
	service.Base
	startErr, stopErr error
	stuck             chan struct{} // a task that ignores its ctx until closed
	startFn           func(context.Context) error
}

func (n *etNode) OnStart(ctx context.Context) error {
	if n.startFn != nil {
		return n.startFn(ctx)
	}
	if n.stuck != nil {
		return n.Go("stuck", func(context.Context) error { <-n.stuck; return nil })
	}
	return n.startErr
}

func (n *etNode) OnStop(context.Context) error { return n.stopErr }

func etQuiet(name string) service.Config {
	l := zerolog.Nop()
	return service.Config{Name: name, Logger: &l}
}

func newET(name string) *etNode {
	n := &etNode{}
	n.Configure(etQuiet(name))
	return n
}

func etChain(t *testing.T, nodes ...*etNode) {
	t.Helper()
	for i := 0; i+1 < len(nodes); i++ {
		if err := nodes[i].AddDependency(nodes[i+1]); err != nil {
			t.Fatal(err)
		}
	}
}

func etSup(t *testing.T, name string, spec supervisor.Spec, kids ...service.Service) *supervisor.Supervisor {
	t.Helper()
	s := supervisor.New(spec)
	s.Configure(etQuiet(name))
	for _, k := range kids {
		if err := s.Add(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

var errET = errors.New("boom")

// TestErrorTexts asserts the exact text of failures deep in a tree: each
// service is named once, the operation is said once, by the outermost
// (see "Error texts" in the package doc of service), and errors.Is still
// finds every sentinel.
func TestErrorTexts(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		run   func(t *testing.T) error
		want  string
		match []error
	}{
		{
			name: "start fails three services deep",
			run: func(t *testing.T) error {
				r, p, x := newET("r"), newET("p"), newET("x")
				x.startErr = errET
				etChain(t, r, p, x)
				return service.Start(ctx, r)
			},
			want:  "etNode(r): start: etNode(p): etNode(x): OnStart: boom",
			match: []error{errET},
		},
		{
			name: "start fails under nested supervisors",
			run: func(t *testing.T) error {
				api := newET("api")
				api.startErr = errET
				pool := etSup(t, "pool", supervisor.Spec{}, api)
				workers := etSup(t, "workers", supervisor.Spec{}, pool)
				return service.Start(ctx, workers)
			},
			want:  "Supervisor(workers): start: Supervisor(pool): etNode(api): OnStart: boom",
			match: []error{errET},
		},
		{
			name: "restart intensity exceeded in nested supervisors",
			run: func(t *testing.T) error {
				gate := make(chan struct{})
				api := service.Func("api", func(context.Context) error { <-gate; return errET })
				one := supervisor.Spec{MaxRestarts: 1, Window: time.Hour}
				pool := etSup(t, "pool", one, api)
				workers := etSup(t, "workers", one, pool)
				if err := service.Start(ctx, workers); err != nil {
					return err
				}
				close(gate) // crashes from now on, once started
				err := workers.WaitUntilStopped(ctx)
				_ = workers.Stop(ctx)
				return err
			},
			want:  "workers: restart intensity exceeded (1 in 1h0m0s): pool: restart intensity exceeded (1 in 1h0m0s): api: boom",
			match: []error{supervisor.ErrMaxRestarts, errET},
		},
		{
			name: "stop hook fails two services deep",
			run: func(t *testing.T) error {
				r, c := newET("r"), newET("c")
				c.stopErr = errET
				etChain(t, r, c)
				if err := service.Start(ctx, r); err != nil {
					return err
				}
				return r.Stop(ctx)
			},
			want:  "etNode(r): stop: etNode(c): OnStop: boom",
			match: []error{errET},
		},
		{
			name: "stop times out two services deep",
			run: func(t *testing.T) error {
				r, c := newET("r"), newET("c")
				c.stuck = make(chan struct{})
				defer close(c.stuck)
				etChain(t, r, c)
				if err := service.Start(ctx, r); err != nil {
					return err
				}
				sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
				return r.Stop(sctx)
			},
			want:  `etNode(r): stop: etNode(c): mode: stop timed out: still running: r/c: task "stuck"`,
			match: []error{service.ErrStopTimeout},
		},
		{
			name: "Add to a running supervisor of a child whose start fails two deep",
			run: func(t *testing.T) error {
				s := etSup(t, "sup", supervisor.Spec{})
				if err := service.Start(ctx, s); err != nil {
					return err
				}
				defer s.Stop(ctx)
				p, x := newET("p"), newET("x")
				x.startErr = errET
				etChain(t, p, x)
				return s.Add(ctx, p)
			},
			want:  "sup: add: etNode(p): etNode(x): OnStart: boom",
			match: []error{errET},
		},
		{
			name: "Add before the start of a child whose start fails",
			run: func(t *testing.T) error {
				bad := newET("bad")
				bad.startErr = errET
				s := etSup(t, "sup", supervisor.Spec{}, bad)
				return service.Start(ctx, s)
			},
			want:  "Supervisor(sup): start: etNode(bad): OnStart: boom",
			match: []error{errET},
		},
		{
			name: "Add of a duplicate ID names the child",
			run: func(t *testing.T) error {
				s := etSup(t, "sup", supervisor.Spec{}, newET("ok"))
				return s.Add(ctx, newET("ok"))
			},
			want:  `sup: add ok: mode: duplicate child ID "ok"`,
			match: []error{supervisor.ErrDuplicateID},
		},
		{
			name: "Remove of a child whose stop fails",
			run: func(t *testing.T) error {
				c := newET("c")
				c.stopErr = errET
				s := etSup(t, "sup", supervisor.Spec{}, c)
				if err := service.Start(ctx, s); err != nil {
					return err
				}
				defer s.Stop(ctx)
				return s.Remove(ctx, c)
			},
			want:  "sup: remove: etNode(c): OnStop: boom",
			match: []error{errET},
		},
		{
			name: "RequestFailed event of a queued Terminate",
			run: func(t *testing.T) error {
				failed := make(chan error, 1)
				spec := supervisor.Spec{OnEvent: func(ev supervisor.Event) {
					if ev.Kind == supervisor.RequestFailed {
						failed <- ev.Reason
					}
				}}
				var s *supervisor.Supervisor
				c := &etNode{stopErr: errET}
				c.Configure(etQuiet("c"))
				start := make(chan struct{})
				c.startFn = func(ctx context.Context) error {
					return c.Go("quit", func(ctx context.Context) error {
						<-start
						return s.Terminate(ctx, "c") // from inside the child: queued
					})
				}
				s = etSup(t, "sup", spec, c)
				if err := service.Start(ctx, s); err != nil {
					return err
				}
				defer s.Stop(ctx)
				close(start)
				return <-failed
			},
			want:  "sup: terminate: etNode(c): OnStop: boom",
			match: []error{errET},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run(t)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error text\n got: %v\nwant: %s", err, tt.want)
			}
			for _, m := range tt.match {
				if !errors.Is(err, m) {
					t.Errorf("errors.Is(err, %v) = false", m)
				}
			}
		})
	}
}
