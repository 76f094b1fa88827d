package service_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// TestReview14JoinAbandons: tasks that ignore their ctx are abandoned
// within the stop budget and named in ErrStopTimeout, those that honour it
// are not; the abandoned ones end later without a leak.
func TestReview14JoinAbandons(t *testing.T) {
	cases := []struct {
		name           string
		honour, ignore int
		wantErr        bool
	}{
		{"none", 0, 0, false},
		{"honour", 3, 0, false},
		{"ignore", 0, 1, true},
		{"mixed", 4, 2, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			release := make(chan struct{})
			s := newHookSvc("j")
			s.Configure(service.Config{Name: "j", Logger: &quiet, StopTimeout: 50 * time.Millisecond})
			s.onStart = func(context.Context) error {
				for i := range tc.honour {
					if err := s.Go(fmt.Sprintf("good%d", i), func(ctx context.Context) error { <-ctx.Done(); return nil }); err != nil {
						return err
					}
				}
				for i := range tc.ignore {
					if err := s.Go(fmt.Sprintf("deaf%d", i), func(context.Context) error { <-release; return nil }); err != nil {
						return err
					}
				}
				return nil
			}
			must(t, service.Start(ctx, s))
			began := time.Now()
			err := s.Stop(ctx)
			took := time.Since(began)
			close(release)
			if (err != nil) != tc.wantErr {
				t.Fatalf("Stop: %v", err)
			}
			if took > 2*time.Second {
				t.Errorf("Stop took %v with a 50ms budget", took)
			}
			if err != nil {
				if !errors.Is(err, service.ErrStopTimeout) {
					t.Errorf("Stop: %v", err)
				}
				for i := range tc.ignore {
					if !strings.Contains(err.Error(), fmt.Sprintf("deaf%d", i)) {
						t.Errorf("Stop's error does not name deaf%d: %v", i, err)
					}
				}
				if strings.Contains(err.Error(), "good") {
					t.Errorf("Stop's error names a task that returned: %v", err)
				}
			}
			// The abandoned tasks return now: a start may run again once
			// they are gone (a restart waits for them).
			deadline := time.Now().Add(5 * time.Second)
			for {
				err := s.Restart(ctx)
				if err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Restart after the abandoned tasks returned: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
			must(t, s.Stop(ctx))
		})
	}
}

// TestReview14JoinRaces: tasks that end on their own right around the
// join's yield (before it, during it, just after), a task started from
// OnStop (the run is stopping: refused or joined), from OnShutdown (after
// the join: refused), and from inside a task as the stop begins: every
// Stop returns nil at once and no goroutine is left. Run with -count=20.
func TestReview14JoinRaces(t *testing.T) {
	spins := []int{0, 1, 10, 100, 1000}
	for _, spin := range spins {
		t.Run(fmt.Sprint("spin", spin), func(t *testing.T) {
			ctx := bg(t)
			s := newHookSvc("r")
			s.Configure(service.Config{Name: "r", Logger: &quiet, StopTimeout: 5 * time.Second})
			var mu sync.Mutex
			var goErrs []string
			note := func(where string, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil && !errors.Is(err, service.ErrStopping) {
					goErrs = append(goErrs, where+": "+err.Error())
				}
			}
			s.onStart = func(context.Context) error {
				for i := range 4 {
					// Ends on its own after a few yields: around the
					// moment the Stop below joins.
					if err := s.Go(fmt.Sprint("quick", i), func(ctx context.Context) error {
						for range spin * i {
							runtime.Gosched()
						}
						return nil
					}); err != nil {
						return err
					}
				}
				return s.Go("spawner", func(ctx context.Context) error {
					<-ctx.Done()
					note("Go from a stopping task", s.Go("late", func(ctx context.Context) error { <-ctx.Done(); return nil }))
					return nil
				})
			}
			s.onStop = func(context.Context) error {
				note("Go from OnStop", s.Go("fromOnStop", func(ctx context.Context) error { <-ctx.Done(); return nil }))
				return nil
			}
			s.onShutdown = func(context.Context) error {
				err := s.Go("fromOnShutdown", func(ctx context.Context) error { <-ctx.Done(); return nil })
				if err == nil {
					note("Go from OnShutdown", errors.New("accepted after the join"))
				}
				return nil
			}
			for range 20 {
				if s.State() == service.Shutdown {
					must(t, s.Restart(ctx))
				} else {
					must(t, service.Start(ctx, s))
				}
				began := time.Now()
				if err := s.Stop(ctx); err != nil {
					t.Fatalf("Stop: %v", err)
				}
				if took := time.Since(began); took > time.Second {
					t.Fatalf("Stop took %v", took)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(goErrs) > 0 {
				t.Errorf("%s", strings.Join(goErrs, "\n"))
			}
		})
	}
}
