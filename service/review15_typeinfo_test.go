package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gomode/mode/service"
)

type r15OnlyStart struct {
	service.Base
	starts atomic.Int32
}

func (s *r15OnlyStart) OnStart(context.Context) error { s.starts.Add(1); return nil }

type r15StartStop struct {
	service.Base
	starts, stops atomic.Int32
}

func (s *r15StartStop) OnStart(context.Context) error { s.starts.Add(1); return nil }
func (s *r15StartStop) OnStop(context.Context) error  { s.stops.Add(1); return nil }

type r15Gen[T any] struct {
	service.Base
	v T
}

func (g *r15Gen[T]) OnStop(context.Context) error { return nil }

// TestReview15TypeInfo: the hooks and type name found once per type
// (typeInfo, 47b025a) are each type's own: two anonymous structs, two
// instantiations of one generic type, types with some hooks only, a Func
// with and without a name; the first use of a type from many goroutines
// at once finds the same.
func TestReview15TypeInfo(t *testing.T) {
	anonA := &struct {
		service.Base
		a int
	}{}
	anonB := &struct {
		service.Base
		b string
	}{}
	cases := []struct {
		name  string
		svc   service.Service
		label string // "": fmt's %T of the value, pointer taken away
		hooks string // Dump's hooks=..., "": none
	}{
		{"only OnStart", &r15OnlyStart{}, "r15OnlyStart", "OnStart"},
		{"OnStart and OnStop", &r15StartStop{}, "r15StartStop", "OnStart,OnStop"},
		{"anonymous a", anonA, "", ""},
		{"anonymous b", anonB, "", ""},
		{"generic int", &r15Gen[int]{}, "r15Gen[int]", "OnStop"},
		{"generic string", &r15Gen[string]{}, "r15Gen[string]", "OnStop"},
		{"Func unnamed", service.Func("", func(ctx context.Context) error { <-ctx.Done(); return nil }), "Func", ""},
		{"Func named", service.Func("pump", func(ctx context.Context) error { <-ctx.Done(); return nil }), "pump", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A value's type is read at its handover (its first start).
			tc.svc.(interface{ Configure(service.Config) }).Configure(service.Config{Logger: &quiet})
			must(t, service.Start(bg(t), tc.svc))
			defer func() { must(t, tc.svc.Stop(bg(t))) }()
			want := tc.label
			if want == "" {
				want = strings.TrimPrefix(fmt.Sprintf("%T", tc.svc), "*")
			}
			if got := tc.svc.Label(); got != want {
				t.Errorf("Label = %q, want %q", got, want)
			}
			line, _, _ := strings.Cut(service.Dump(tc.svc), "\n")
			_, hooks, has := strings.Cut(line, "hooks=")
			hooks, _, _ = strings.Cut(hooks, " ")
			if tc.hooks == "" && has || tc.hooks != "" && hooks != tc.hooks {
				t.Errorf("Dump: %q, want hooks=%q", line, tc.hooks)
			}
		})
	}
	if anonA.Label() == anonB.Label() {
		t.Errorf("two anonymous structs share the label %q", anonA.Label())
	}

	// The hooks run as found.
	ctx := bg(t)
	ss := &r15StartStop{}
	ss.Configure(service.Config{Logger: &quiet})
	must(t, service.Start(ctx, ss))
	must(t, ss.Restart(ctx))
	must(t, ss.Stop(ctx))
	if ss.starts.Load() != 2 || ss.stops.Load() != 2 {
		t.Errorf("r15StartStop: %d starts, %d stops, want 2 and 2", ss.starts.Load(), ss.stops.Load())
	}

	// A type first seen by many goroutines at once.
	type racer struct{ r15OnlyStart }
	const n = 32
	svcs := make([]*racer, n)
	var wg sync.WaitGroup
	for i := range n {
		svcs[i] = &racer{}
		svcs[i].Configure(service.Config{Logger: &quiet})
		wg.Go(func() {
			if err := service.Start(ctx, svcs[i]); err != nil {
				t.Error(err)
				return
			}
			if got := svcs[i].Label(); got != "racer" { // handed over by Start
				t.Errorf("racer %d: Label = %q", i, got)
			}
			if err := svcs[i].Stop(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i, s := range svcs {
		if s.starts.Load() != 1 {
			t.Errorf("racer %d: OnStart ran %d times, want 1", i, s.starts.Load())
		}
	}
}
