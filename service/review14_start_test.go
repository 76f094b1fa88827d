package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

var errReview14 = errors.New("review14")

// TestReview14StartKidsCtx: the children step's ctx (startKids) is
// cancelled by a Stop or a crash of the parent during the children's
// start, for plain children and a supervisor's; a start ctx that ends
// during OnStarted (after the children step returned) still fails the
// start and rolls the children back; AddRuntimeDependency from OnStarted
// and from a task during the children step adds a running child.
func TestReview14StartKidsCtx(t *testing.T) {
	type env struct {
		parent  *hookSvc
		blocker *hookSvc    // a (grand)child whose OnStart blocks on its ctx
		entered chan string // blocker's OnStart began
		sawErr  atomic.Value
		extra   *hookSvc // a service added at run time
	}
	blockOnStart := func(e *env) func(context.Context) error {
		return func(ctx context.Context) error {
			e.entered <- "in"
			<-ctx.Done()
			e.sawErr.Store(fmt.Sprint(context.Cause(ctx)))
			return ctx.Err()
		}
	}
	cases := []struct {
		name    string
		nested  bool                                  // blocker under a supervisor child
		act     func(t *testing.T, e *env)            // once blocker's OnStart began
		setup   func(e *env)                          // before the start
		ctx     func() (context.Context, func())      // the start's ctx
		wantErr func(err error) bool                  // Start's error
		after   func(t *testing.T, e *env, err error) // checks
	}{
		{
			name:    "stop during child start",
			act:     func(t *testing.T, e *env) { must(t, e.parent.Stop(bg(t))) },
			wantErr: func(err error) bool { return errors.Is(err, service.ErrStopped) },
		},
		{
			name:    "crash during child start",
			act:     func(t *testing.T, e *env) { e.parent.Crash(errReview14) },
			wantErr: func(err error) bool { return errors.Is(err, errReview14) },
		},
		{
			name: "stop during supervisor child's start", nested: true,
			act:     func(t *testing.T, e *env) { must(t, e.parent.Stop(bg(t))) },
			wantErr: func(err error) bool { return errors.Is(err, service.ErrStopped) },
		},
		{
			name: "crash during supervisor child's start", nested: true,
			act:     func(t *testing.T, e *env) { e.parent.Crash(errReview14) },
			wantErr: func(err error) bool { return errors.Is(err, errReview14) },
		},
		{
			name: "start ctx ends during child start",
			ctx: func() (context.Context, func()) {
				return context.WithTimeout(context.Background(), 30*time.Millisecond)
			},
			wantErr: func(err error) bool {
				return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
			},
		},
		{
			name: "start ctx ends during OnStarted",
			setup: func(e *env) {
				e.blocker.onStart = nil
				e.parent.onStarted = func(ctx context.Context) error {
					e.entered <- "in"
					<-ctx.Done()
					e.sawErr.Store(fmt.Sprint(ctx.Err()))
					return ctx.Err()
				}
			},
			ctx: func() (context.Context, func()) {
				return context.WithTimeout(context.Background(), 30*time.Millisecond)
			},
			wantErr: func(err error) bool {
				return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
			},
		},
		{
			// Refused (it would be added again at each restart); the
			// start rolls back as any failed start.
			name: "AddRuntimeDependency from OnStarted",
			setup: func(e *env) {
				e.blocker.onStart = nil
				e.parent.onStarted = func(ctx context.Context) error {
					e.entered <- "in"
					e.sawErr.Store("refused")
					return e.parent.AddRuntimeDependency(ctx, e.extra)
				}
			},
			wantErr: func(err error) bool { return errors.Is(err, service.ErrAddedInOnStart) },
		},
		{
			name: "AddRuntimeDependency from a task during the children step",
			setup: func(e *env) {
				in := make(chan struct{})
				e.blocker.onStart = func(ctx context.Context) error {
					close(in)
					e.entered <- "in"
					time.Sleep(10 * time.Millisecond)
					return nil
				}
				e.parent.onStart = func(ctx context.Context) error {
					return e.parent.Go("adder", func(ctx context.Context) error {
						<-in
						err := e.parent.AddRuntimeDependency(ctx, e.extra)
						<-ctx.Done()
						return err
					})
				}
			},
			wantErr: func(err error) bool { return err == nil },
			after: func(t *testing.T, e *env, err error) {
				deadline := time.Now().Add(5 * time.Second)
				for e.extra.State() != service.Running && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				if st := e.extra.State(); st != service.Running {
					t.Errorf("runtime dependency %v", st)
				}
				must(t, e.parent.Stop(bg(t)))
				if st := e.extra.State(); st == service.Running {
					t.Errorf("runtime dependency %v after the parent's Stop", st)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{parent: newHookSvc("p"), blocker: newHookSvc("b"), entered: make(chan string, 1), extra: newHookSvc("x")}
			e.blocker.onStart = blockOnStart(e)
			if tc.nested {
				sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "s", Logger: &quiet}})
				must(t, sup.Add(bg(t), e.blocker))
				must(t, e.parent.AddDependency(sup))
			} else {
				must(t, e.parent.AddDependency(e.blocker))
			}
			if tc.setup != nil {
				tc.setup(e)
			}
			ctx, cancel := context.Background(), func() {}
			if tc.ctx != nil {
				ctx, cancel = tc.ctx()
			}
			defer cancel()
			started := make(chan error, 1)
			go func() { started <- service.Start(ctx, e.parent) }()
			select {
			case <-e.entered:
			case err := <-started:
				// A hook that fails at once may return before the
				// select looks: both are ready, and select picks either.
				select {
				case <-e.entered:
					started <- err
				default:
					t.Fatalf("Start returned %v before the hook ran", err)
				}
			}
			if tc.act != nil {
				tc.act(t, e)
			}
			err := <-started
			if !tc.wantErr(err) {
				t.Fatalf("Start: %v", err)
			}
			if err != nil {
				if s := e.sawErr.Load(); s == nil {
					t.Errorf("the blocked hook's ctx did not end")
				}
				for _, s := range []service.Service{e.parent, e.blocker, e.extra} {
					if st := s.State(); st == service.Running || st == service.Starting || st == service.Stopping {
						t.Errorf("%s is %v after a failed start", s.Label(), st)
					}
				}
				// A failed start rolls back: it can start again.
				e.blocker.onStart, e.parent.onStarted = nil, nil
				must(t, service.Start(bg(t), e.parent))
				must(t, e.parent.Stop(bg(t)))
			}
			if tc.after != nil {
				tc.after(t, e, err)
			}
		})
	}
}
