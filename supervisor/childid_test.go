package supervisor_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// plain is an idle child without a name: its ID is automatic ("plain#n").
type plain struct{ service.Base }

func newPlain() *plain {
	p := &plain{}
	p.Configure(service.Config{Logger: &quiet})
	return p
}

// idStep adds a child (op "auto": an unnamed plain; "func": an unnamed
// Func; "named": a plain named arg; "spec": a plain with ChildSpec.ID arg)
// or removes the child with ID arg ("remove"). want is the ID the added
// child gets; wantErr the error Add returns instead.
type idStep struct {
	op, arg, want string
	wantErr       error
}

// TestChildIDs checks the IDs children get: configured ones (spec, name)
// and automatic ones (label#n, numbered per label, never reused, skipping
// those a configured ID took), the clashes between them, and that every
// ID finds its child (Child, Terminate) while near-misses find none;
// before the supervisor runs and while it runs.
func TestChildIDs(t *testing.T) {
	cases := []struct {
		name  string
		steps []idStep
	}{
		{"numbered per label", []idStep{
			{op: "auto", want: "plain#1"}, {op: "auto", want: "plain#2"},
			{op: "func", want: "Func#1"}, {op: "auto", want: "plain#3"}, {op: "func", want: "Func#2"},
		}},
		{"a configured ID of the automatic form is skipped", []idStep{
			{op: "spec", arg: "plain#2", want: "plain#2"},
			{op: "auto", want: "plain#1"}, {op: "auto", want: "plain#3"},
		}},
		{"a configured ID cannot take an automatic one", []idStep{
			{op: "auto", want: "plain#1"},
			{op: "spec", arg: "plain#1", wantErr: supervisor.ErrDuplicateID},
			{op: "named", arg: "plain#1", wantErr: supervisor.ErrDuplicateID},
			{op: "spec", arg: "plain#01", want: "plain#01"}, // not the same ID
			{op: "spec", arg: "plain#1 ", want: "plain#1 "},
			{op: "auto", want: "plain#2"},
		}},
		{"numbers are not reused, freed IDs are", []idStep{
			{op: "auto", want: "plain#1"}, {op: "auto", want: "plain#2"},
			{op: "remove", arg: "plain#1"},
			{op: "auto", want: "plain#3"},
			{op: "spec", arg: "plain#1", want: "plain#1"},
			{op: "remove", arg: "plain#1"},
			{op: "spec", arg: "plain#4", want: "plain#4"},
			{op: "remove", arg: "plain#4"},
			{op: "auto", want: "plain#4"}, // plain#4 is free again
		}},
		{"configured IDs are unique", []idStep{
			{op: "named", arg: "a", want: "a"},
			{op: "spec", arg: "a", wantErr: supervisor.ErrDuplicateID},
			{op: "named", arg: "plain", want: "plain"}, // a label alone is no automatic ID
			{op: "auto", want: "plain#1"},
		}},
	}
	for _, running := range []bool{false, true} {
		for _, tc := range cases {
			name := tc.name
			if running {
				name += "/running"
			}
			t.Run(name, func(t *testing.T) {
				ctx := bg(t)
				s := newSup(supervisor.Spec{}, nil)
				if running {
					must(t, service.Start(ctx, s))
					defer func() { must(t, s.Stop(ctx)) }()
				}
				byID := map[string]service.Service{}
				for i, st := range tc.steps {
					var svc service.Service
					var spec []supervisor.ChildSpec
					switch st.op {
					case "auto":
						svc = newPlain()
					case "func":
						f := service.Func("", func(ctx context.Context) error { <-ctx.Done(); return nil })
						f.Configure(service.Config{Logger: &quiet})
						svc = f
					case "named":
						p := newPlain()
						p.Configure(service.Config{Name: st.arg, Logger: &quiet})
						svc = p
					case "spec":
						svc, spec = newPlain(), []supervisor.ChildSpec{{ID: st.arg}}
					case "remove":
						must(t, s.Remove(ctx, byID[st.arg]))
						delete(byID, st.arg)
						continue
					}
					err := s.Add(ctx, svc, spec...)
					if st.wantErr != nil {
						if !errors.Is(err, st.wantErr) {
							t.Fatalf("step %d: Add returned %v, want %v", i, err, st.wantErr)
						}
						continue
					}
					must(t, err)
					kids := s.Children()
					if got := kids[len(kids)-1].ID; got != st.want {
						t.Fatalf("step %d: ID %q, want %q", i, got, st.want)
					}
					byID[st.want] = svc
				}
				if got := len(s.Children()); got != len(byID) {
					t.Fatalf("%d children, want %d", got, len(byID))
				}
				for id, svc := range byID {
					if got := s.Child(id); got != svc {
						t.Errorf("Child(%q) = %v, want the service added with it", id, got)
					}
				}
				for _, id := range []string{"plain#0", "plain#01", "plain#", "#1", "plain#1x", "plain#99", "Func#9", "plain#-1", "plain#+1", "plain#99999999999999999999"} {
					if _, ok := byID[id]; ok {
						continue
					}
					if got := s.Child(id); got != nil {
						t.Errorf("Child(%q) = %v, want nil", id, got)
					}
					if err := s.Terminate(ctx, id); !errors.Is(err, supervisor.ErrNoChild) {
						t.Errorf("Terminate(%q) = %v, want ErrNoChild", id, err)
					}
				}
			})
		}
	}
}

// TestAutomaticIDInEvents crashes children with automatic IDs while
// other goroutines read the children (whose IDs are then made, maybe
// concurrently with the events'): events, Children and RestartChild all
// name them the same; run with -race.
func TestAutomaticIDInEvents(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{}, ev)
	kids := []*plain{newPlain(), newPlain(), newPlain()}
	for _, k := range kids {
		must(t, s.Add(ctx, k))
	}
	must(t, service.Start(ctx, s))
	defer func() { must(t, s.Stop(ctx)) }()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for i, ci := range s.Children() {
					if want := "plain#" + string(rune('1'+i)); ci.ID != want {
						t.Errorf("Children()[%d].ID = %q, want %q", i, ci.ID, want)
						return
					}
				}
			}
		}()
	}
	for i, k := range kids {
		id := "plain#" + string(rune('1'+i))
		k.Crash(errBoom)
		ev.wait(t, supervisor.ChildCrashed, id, 1)
		ev.wait(t, supervisor.ChildRestarted, id, 1)
	}
	close(stop)
	wg.Wait()
	must(t, s.Terminate(ctx, "plain#2"))
	must(t, s.RestartChild(ctx, "plain#2"))
	if got := kids[1].State(); got != service.Running {
		t.Fatalf("plain#2 is %v after RestartChild, want Running", got)
	}
}

// TestUnnamedTypeChildIDs adds children whose type has no name (an
// anonymous struct embedding service.Base) and no configured name: each
// gets an automatic ID that is not empty, and a second one is no
// duplicate of the first.
func TestUnnamedTypeChildIDs(t *testing.T) {
	cases := []struct {
		name string
		make func() service.Service
	}{
		{"anonymous struct", func() service.Service { return &struct{ service.Base }{} }},
		{"anonymous struct with fields", func() service.Service {
			return &struct {
				service.Base
				n int
			}{}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			s := newSup(supervisor.Spec{}, nil)
			for range 2 {
				svc := tc.make()
				svc.(interface{ Configure(service.Config) }).Configure(service.Config{Logger: &quiet})
				must(t, s.Add(ctx, svc))
			}
			kids := s.Children()
			if len(kids) != 2 || kids[0].ID == kids[1].ID || kids[0].ID == "" || kids[1].ID == "" {
				t.Fatalf("children %+v: want two distinct non-empty IDs", kids)
			}
			for _, k := range kids {
				if s.Child(k.ID) == nil {
					t.Errorf("Child(%q) = nil", k.ID)
				}
			}
		})
	}
}
