package supervisor_test

// Review 29: a child's own Restart racing a stop of it (its supervisor's
// Stop, Terminate, its own normal exit, a crash and the strategy's
// restart; a plain Base child of a supervised service): the Stop in
// progress wins only where nothing restarts the child, and no supervisor
// path leaves a child down.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// s29 is a service whose first OnStop, if block, signals in and waits for
// release.
type s29 struct {
	service.Base
	in, release chan struct{}
	once        sync.Once
}

func newS29(name string, block bool) *s29 {
	s := &s29{}
	if block {
		s.in, s.release = make(chan struct{}), make(chan struct{})
	}
	s.Configure(service.Config{Name: name, Logger: &quiet, StopTimeout: time.Minute})
	return s
}

func (s *s29) OnStop(context.Context) error {
	if s.in != nil {
		s.once.Do(func() { close(s.in); <-s.release })
	}
	return nil
}

func TestReview29ChildRestartDuringStop(t *testing.T) {
	type outcome int
	const (
		down outcome = iota // the stop was meant to keep it down
		up                  // something restarts it
	)
	for _, tc := range []struct {
		name   string
		nested bool // k is a plain Base child of the supervised p
		byID   bool // the restart control's RestartByID, not k's own Restart
		stop   func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error
		want   outcome
	}{
		{"sup-stops", false, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return sup.Stop(ctx) }, down},
		{"terminate", false, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return sup.Terminate(ctx, "k") }, up},
		{"terminate-byid", false, true, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return sup.Terminate(ctx, "k") }, up},
		{"own-exit-byid", false, true, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return k.Stop(ctx) }, up},
		{"own-exit", false, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return k.Stop(ctx) }, up},
		{"crash", false, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error {
			k.Crash(errors.New("boom"))
			return nil
		}, up},
		{"nested-sup-stops", true, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return sup.Stop(ctx) }, down},
		{"nested-parent-crash", true, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error {
			p.Crash(errors.New("boom"))
			return nil
		}, up},
		{"nested-parent-restart", true, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return p.Restart(ctx) }, up},
		{"nested-parent-terminate", true, false, func(ctx context.Context, sup *supervisor.Supervisor, p, k *s29) error { return sup.Terminate(ctx, "p") }, down},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				sup := newSup(supervisor.Spec{}, nil)
				k := newS29("k", true)
				var p *s29
				if tc.nested {
					p = newS29("p", false)
					if err := p.AddDependency(k); err != nil {
						t.Fatal(err)
					}
					if err := sup.Add(ctx, p, supervisor.ChildSpec{ID: "p"}); err != nil {
						t.Fatal(err)
					}
				} else if err := sup.Add(ctx, k, supervisor.ChildSpec{ID: "k"}); err != nil {
					t.Fatal(err)
				}
				if err := service.Start(ctx, sup); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = sup.Stop(ctx) }()
				release := k.release
				stopped := make(chan error, 1)
				go func() { stopped <- tc.stop(ctx, sup, p, k) }()
				<-k.in // k's stop is in its OnStop
				rerr := make(chan error, 1)
				go func() {
					if tc.byID {
						rerr <- sup.RestartByID(seam.Token{}, ctx, "k")
						return
					}
					rerr <- k.Restart(ctx)
				}()
				synctest.Wait()
				close(release)
				if err := <-stopped; err != nil {
					t.Errorf("stop: %v", err)
				}
				err := <-rerr
				t.Logf("k.Restart: %v", err)
				time.Sleep(time.Minute) // fake time: backoffs pass
				synctest.Wait()
				st := k.State()
				switch tc.want {
				case down:
					if st == service.Running || st == service.Starting {
						t.Errorf("k is %s after a stop meant to keep it down (Restart: %v)", st, err)
					}
				case up:
					if st != service.Running {
						t.Errorf("k is %s, left down (Restart: %v)", st, err)
					}
					if tc.nested && p.State() != service.Running {
						t.Errorf("p is %s", p.State())
					}
				}
			})
		})
	}
}

// r29 is a child whose first OnRestart fails (returns boom, or hangs
// until release when hang).
type r29 struct {
	service.Base
	hang    bool
	release chan struct{}
	calls   atomic.Int32
}

var errBoom29 = errors.New("boom29")

func (s *r29) OnRestart(context.Context) error {
	if s.calls.Add(1) > 1 { // the supervisor's restart after the failure
		return nil
	}
	if s.hang {
		<-s.release
		return nil
	}
	return errBoom29
}

// TestReview29SupervisedOnRestartText: a supervised child's own Restart
// failing in OnRestart (an error, or abandoned) returns an error naming
// the child once and OnRestart once, matching ErrStopTimeout when
// abandoned; the child is left down, its supervisor still running.
func TestReview29SupervisedOnRestartText(t *testing.T) {
	for _, hang := range []bool{false, true} {
		t.Run(map[bool]string{false: "error", true: "abandoned"}[hang], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				sup := newSup(supervisor.Spec{}, nil)
				k := &r29{hang: hang, release: make(chan struct{})}
				defer func() { close(k.release); synctest.Wait() }()
				k.Configure(service.Config{Name: "kid29", Logger: &quiet, StopTimeout: time.Second})
				if err := sup.Add(ctx, k, supervisor.ChildSpec{ID: "kid29"}); err != nil {
					t.Fatal(err)
				}
				if err := service.Start(ctx, sup); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = sup.Stop(ctx) }()
				err := k.Restart(ctx)
				t.Logf("Restart: %v", err)
				if hang && !errors.Is(err, service.ErrStopTimeout) || !hang && !errors.Is(err, errBoom29) {
					t.Fatalf("Restart: %v", err)
				}
				text := err.Error()
				if c := strings.Count(text, "OnRestart"); c != 1 {
					t.Errorf("%q says OnRestart %d times", text, c)
				}
				if c := strings.Count(text, "kid29"); c > 2 { // its label, and the path of abandoned code
					t.Errorf("%q names the child %d times", text, c)
				}
				if sup.State() != service.Running {
					t.Errorf("supervisor %s", sup.State())
				}
			})
		})
	}
}
