package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// slowStopper is a child whose first OnStop blocks until released: a Stop
// of its supervisor can then arrive while the supervisor's goroutine
// cleans up its crash.
type slowStopper struct {
	service.Base
	once    sync.Once
	inStop  chan struct{} // closed when the first OnStop begins
	release chan struct{}
}

func newSlowStopper(name string) *slowStopper {
	s := &slowStopper{inStop: make(chan struct{}), release: make(chan struct{})}
	s.Configure(service.Config{Name: name, Logger: &quiet})
	return s
}

func (s *slowStopper) OnStop(context.Context) error {
	first := false
	s.once.Do(func() { first = true; close(s.inStop) })
	if first {
		<-s.release
	}
	return nil
}

// nopEventObserver is an EventObserver that hears everything and does
// nothing: attached anywhere, it makes every supervisor's events heard.
type nopEventObserver struct{}

func (nopEventObserver) StateChanged(service.Service, service.State, service.State) {}
func (nopEventObserver) SupervisorEvent(*supervisor.Supervisor, supervisor.Event)   {}

// TestReview14StopDuringCrashCleanup: a Stop of the supervisor that arrives
// while its goroutine stops a crashed child (the cleanup before the
// strategy acts) stops the supervisor normally, whether or not anyone
// listens to its events: no give-up, no crash, a Temporary child not
// dropped, as before the restart path skipped its halted check when
// nobody listened. The outcome must not depend on OnEvent or observers.
func TestReview14StopDuringCrashCleanup(t *testing.T) {
	type outcome struct {
		stopErr  bool
		state    service.State
		gaveUp   bool // a "Giving up" line was logged
		children int
	}
	specs := []struct {
		name  string
		spec  supervisor.Spec
		child supervisor.ChildSpec
		want  outcome
	}{
		// The crash would exceed the intensity, which is looked at once
		// the crashed child is stopped (a backoff: cleaned up first).
		{"never-restart", supervisor.Spec{NeverRestart: true, Backoff: strategy.Backoff{Min: time.Millisecond}}, supervisor.ChildSpec{}, outcome{state: service.Shutdown, children: 1}},
		{"backoff", supervisor.Spec{Backoff: strategy.Backoff{Min: time.Millisecond}}, supervisor.ChildSpec{}, outcome{state: service.Shutdown, children: 1}},
		// A Temporary child is dropped after its exit, unless the supervisor stops first.
		{"temporary", supervisor.Spec{}, supervisor.ChildSpec{Restart: strategy.Temporary}, outcome{state: service.Shutdown, children: 1}},
		// The crash counts; within the limit the restart sees the Stop.
		{"permanent", supervisor.Spec{}, supervisor.ChildSpec{}, outcome{state: service.Shutdown, children: 1}},
	}
	listeners := []string{"none", "OnEvent", "observer"}
	for _, sc := range specs {
		for _, l := range listeners {
			t.Run(sc.name+"/"+l, func(t *testing.T) {
				ctx := bg(t)
				var buf jsonLines
				lg := zerolog.New(&buf).Level(zerolog.ErrorLevel)
				spec := sc.spec
				spec.Service = service.Config{Name: "sup", Logger: &lg}
				if l == "OnEvent" {
					spec.OnEvent = func(supervisor.Event) {}
				}
				sup := supervisor.New(spec)
				if l == "observer" {
					detach, err := service.Observe(sup, nopEventObserver{})
					must(t, err)
					defer detach()
				}
				c := newSlowStopper("c")
				must(t, sup.Add(ctx, c, sc.child))
				must(t, service.Start(ctx, sup))
				c.Crash(errBoom)
				select {
				case <-c.inStop:
				case <-ctx.Done():
					t.Fatal("the crashed child's OnStop was not called")
				}
				stopped := make(chan error, 1)
				go func() { stopped <- sup.Stop(ctx) }()
				for sup.State() != service.Stopping {
					time.Sleep(time.Millisecond)
				}
				time.Sleep(20 * time.Millisecond) // let the Stop cancel the goroutine's ctx
				close(c.release)
				err := <-stopped
				got := outcome{
					stopErr:  err != nil,
					state:    sup.State(),
					gaveUp:   strings.Contains(buf.String(), "Giving up"),
					children: len(sup.Children()),
				}
				if got != sc.want {
					t.Errorf("got %+v (Stop: %v), want %+v; log:\n%s", got, err, sc.want, buf.String())
				}
				if errors.Is(err, supervisor.ErrMaxRestarts) {
					t.Errorf("Stop returned %v", err)
				}
			})
		}
	}
}

// TestReview14OnEventCrashHaltsRestart: an OnEvent that panics on the
// crash event crashes the supervisor, and the crashed child is not
// restarted (nor given up on), with or without a backoff, a Replacement,
// one-for-all; an observer attached or not.
func TestReview14OnEventCrashHaltsRestart(t *testing.T) {
	cases := []struct {
		name string
		spec supervisor.Spec
		cs   supervisor.ChildSpec
		on   supervisor.EventKind
	}{
		{"crash", supervisor.Spec{}, supervisor.ChildSpec{}, supervisor.ChildCrashed},
		{"crash/backoff", supervisor.Spec{Backoff: strategy.Backoff{Min: time.Millisecond}}, supervisor.ChildSpec{}, supervisor.ChildCrashed},
		{"crash/one-for-all", supervisor.Spec{Strategy: strategy.OneForAll}, supervisor.ChildSpec{}, supervisor.ChildCrashed},
		{"crash/replacement", supervisor.Spec{}, supervisor.ChildSpec{Replacement: func() service.Service { return newWorker("c") }}, supervisor.ChildCrashed},
		{"crash/never", supervisor.Spec{NeverRestart: true}, supervisor.ChildSpec{}, supervisor.ChildCrashed},
		{"exit/temporary", supervisor.Spec{}, supervisor.ChildSpec{Restart: strategy.Temporary}, supervisor.ChildExited},
	}
	for _, tc := range cases {
		for _, observed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/observed=%v", tc.name, observed), func(t *testing.T) {
				ctx := bg(t)
				var mu sync.Mutex
				var kinds []supervisor.EventKind
				spec := tc.spec
				var buf jsonLines
				lg := zerolog.New(&buf).Level(zerolog.ErrorLevel)
				spec.Service = service.Config{Name: "sup", Logger: &lg}
				spec.OnEvent = func(e supervisor.Event) {
					mu.Lock()
					kinds = append(kinds, e.Kind)
					mu.Unlock()
					if e.Kind == tc.on {
						panic("OnEvent")
					}
				}
				sup := supervisor.New(spec)
				if observed {
					detach, err := service.Observe(sup, nopEventObserver{})
					must(t, err)
					defer detach()
				}
				c := newWorker("c")
				must(t, sup.Add(ctx, c, tc.cs))
				must(t, sup.Add(ctx, newWorker("d")))
				must(t, service.Start(ctx, sup))
				if tc.on == supervisor.ChildExited {
					must(t, c.Stop(ctx))
				} else {
					c.Crash(errBoom)
				}
				for sup.State() == service.Running {
					time.Sleep(time.Millisecond)
				}
				_ = sup.Stop(ctx)
				mu.Lock()
				defer mu.Unlock()
				for _, k := range kinds {
					if k == supervisor.ChildRestarted || k == supervisor.MaxRestartsExceeded || k == supervisor.ChildRemoved {
						t.Errorf("event %v after OnEvent crashed the supervisor (events %v)", k, kinds)
					}
				}
				if strings.Contains(buf.String(), "Giving up") {
					t.Errorf("gave up: %s", buf.String())
				}
				for _, ci := range sup.Children() {
					if ci.RestartCount != 0 {
						t.Errorf("child %s restarted %d times", ci.ID, ci.RestartCount)
					}
				}
				if !strings.Contains(fmt.Sprint(sup.CrashReason()), "OnEvent") {
					t.Errorf("crash reason %v", sup.CrashReason())
				}
			})
		}
	}
}
