package service_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// changes records state changes as "name:from>to", and stops.
type changes struct {
	mu    sync.Mutex
	seen  []string
	stops []string
}

func nameOf(s service.Service) string {
	if p, ok := s.(*probe); ok {
		return p.name
	}
	return s.ShortLabel()
}

func (c *changes) StateChanged(s service.Service, from, to service.State) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, fmt.Sprintf("%s:%s>%s", nameOf(s), from, to))
}

func (c *changes) Stopped(s service.Service, took time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if took < 0 {
		c.stops = append(c.stops, nameOf(s)+":negative")
		return
	}
	c.stops = append(c.stops, fmt.Sprintf("%s:%v", nameOf(s), errors.Is(err, service.ErrStopTimeout)))
}

func (c *changes) take() (seen, stops []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen, stops, c.seen, c.stops = c.seen, c.stops, nil, nil
	return seen, stops
}

// of keeps the changes of one service, in order.
func of(name string, seen []string) string {
	var out []string
	for _, s := range seen {
		if n, rest, _ := strings.Cut(s, ":"); n == name {
			out = append(out, rest)
		}
	}
	return strings.Join(out, " ")
}

var _ service.StopObserver = (*changes)(nil)

func TestObserveLifecycle(t *testing.T) {
	cases := []struct {
		name  string
		run   func(t *testing.T, ctx context.Context, root *probe, all []*probe)
		want  map[string]string // service → its changes
		stops []string          // sorted
	}{
		{
			name: "start and stop",
			run: func(t *testing.T, ctx context.Context, root *probe, _ []*probe) {
				must(t, service.Start(ctx, root))
				must(t, root.Stop(ctx))
			},
			want: map[string]string{
				"root": "init>starting starting>running running>stopping stopping>shutdown",
				"a1":   "init>starting starting>running running>stopping stopping>shutdown",
				"b1":   "init>starting starting>running running>stopping stopping>shutdown",
			},
			stops: []string{"a1:false", "a2:false", "a:false", "b1:false", "b:false", "root:false"},
		},
		{
			name: "crash of a leaf crashes the tree",
			run: func(t *testing.T, ctx context.Context, root *probe, all []*probe) {
				must(t, service.Start(ctx, root))
				all[2].Crash(errBoom)
				<-root.Done()
				must(t, root.Stop(ctx))
			},
			want: map[string]string{
				"root": "init>starting starting>running running>crashed crashed>stopping stopping>shutdown",
				"a1":   "init>starting starting>running running>crashed crashed>stopping stopping>shutdown",
			},
		},
		{
			name: "failed start rolls back to init",
			run: func(t *testing.T, ctx context.Context, root *probe, all []*probe) {
				all[5].fail["OnStart"] = errBoom // b1
				if err := service.Start(ctx, root); !errors.Is(err, errBoom) {
					t.Fatalf("Start: %v", err)
				}
			},
			want: map[string]string{
				"root": "init>starting starting>init",
				"a":    "init>starting starting>running running>stopping stopping>shutdown shutdown>init",
				"a1":   "init>starting starting>running running>stopping stopping>shutdown",
				"b1":   "init>starting starting>init",
			},
		},
		{
			name: "restart",
			run: func(t *testing.T, ctx context.Context, root *probe, _ []*probe) {
				must(t, service.Start(ctx, root))
				must(t, root.Restart(ctx))
				must(t, root.Stop(ctx))
			},
			want: map[string]string{
				"root": "init>starting starting>running running>stopping stopping>shutdown shutdown>starting starting>running running>stopping stopping>shutdown",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			root, all := tree(t, &recorder{})
			c := &changes{}
			detach, err := service.Observe(root, c)
			must(t, err)
			defer detach()
			tc.run(t, ctx, root, all)
			seen, stops := c.take()
			for name, want := range tc.want {
				if got := of(name, seen); got != want {
					t.Errorf("%s:\n got: %s\nwant: %s", name, got, want)
				}
			}
			if tc.stops != nil {
				slices.Sort(stops)
				if !slices.Equal(stops, tc.stops) {
					t.Errorf("stops: %v, want %v", stops, tc.stops)
				}
			}
		})
	}
}

// An observer of a subtree hears of it alone; children added later are
// observed; detach ends the calls and can be called twice.
func TestObserveSubtreeAndDetach(t *testing.T) {
	ctx := bg(t)
	root, all := tree(t, &recorder{})
	a := all[1]
	c := &changes{}
	detach, err := service.Observe(a, c)
	must(t, err)
	must(t, service.Start(ctx, root))
	late := newProbe("late", &recorder{})
	must(t, a.AddRuntimeDependency(ctx, late))
	seen, _ := c.take()
	for _, s := range seen {
		if n, _, _ := strings.Cut(s, ":"); n == "root" || n == "b" || n == "b1" {
			t.Errorf("observer of a heard of %s", s)
		}
	}
	if got := of("late", seen); got != "init>starting starting>running" {
		t.Errorf("late child: %q", got)
	}
	detach()
	detach()
	must(t, root.Stop(ctx))
	if seen, stops := c.take(); len(seen)+len(stops) != 0 {
		t.Errorf("calls after detach: %v %v", seen, stops)
	}
}

// panicky panics at its first call.
type panicky struct{ calls int }

func (p *panicky) StateChanged(service.Service, service.State, service.State) {
	p.calls++
	panic("observer bug")
}

// A panicking observer is detached; the tree and the other observers go on.
func TestObservePanicDetaches(t *testing.T) {
	ctx := bg(t)
	root, _ := tree(t, &recorder{})
	p, c := &panicky{}, &changes{}
	detachP, err := service.Observe(root, p)
	must(t, err)
	detachC, err := service.Observe(root, c)
	must(t, err)
	defer detachC()
	must(t, service.Start(ctx, root))
	must(t, root.Stop(ctx))
	if p.calls != 1 {
		t.Errorf("panicking observer called %d times, want 1", p.calls)
	}
	if seen, _ := c.take(); of("root", seen) != "init>starting starting>running running>stopping stopping>shutdown" {
		t.Errorf("other observer: %v", seen)
	}
	// Its detach, called after the panic detached it, must not detach
	// anything else: c still hears.
	detachP()
	must(t, root.Restart(ctx))
	must(t, root.Stop(ctx))
	if seen, _ := c.take(); of("root", seen) != "shutdown>starting starting>running running>stopping stopping>shutdown" {
		t.Errorf("after the panicking observer's detach, the other observer heard: %v", seen)
	}
}

func TestObserveBadInput(t *testing.T) {
	var nilProbe *probe
	cases := []struct {
		name string
		s    service.Service
		o    service.Observer
		want error
	}{
		{"nil service", nil, &changes{}, service.ErrNilService},
		{"typed nil service", nilProbe, &changes{}, service.ErrNilService},
		{"nil observer", newProbe("x", &recorder{}), nil, service.ErrBadArgument},
		{"typed nil observer", newProbe("x", &recorder{}), (*changes)(nil), service.ErrBadArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			detach, err := service.Observe(tc.s, tc.o)
			if !errors.Is(err, tc.want) || detach != nil {
				t.Fatalf("Observe: %v, %v; want %v", detach != nil, err, tc.want)
			}
		})
	}
}

// A stop that runs out of budget tells a StopObserver so.
func TestObserveStopTimeout(t *testing.T) {
	ctx := bg(t)
	s := newProbe("slow", &recorder{})
	s.Configure(service.Config{Name: "slow", Logger: &quiet, StopTimeout: 20 * time.Millisecond})
	c := &changes{}
	detach, err := service.Observe(s, c)
	must(t, err)
	defer detach()
	must(t, service.Start(ctx, s))
	release := make(chan struct{})
	must(t, s.Go("stubborn", func(context.Context) error { <-release; return nil }))
	if err := s.Stop(ctx); !errors.Is(err, service.ErrStopTimeout) {
		t.Fatalf("Stop: %v", err)
	}
	close(release)
	if _, stops := c.take(); !slices.Equal(stops, []string{"slow:true"}) {
		t.Errorf("stops: %v", stops)
	}
}

// An observer attached to another tree costs an unobserved one no
// allocation on its start and stop.
func TestObserveCostsUnobservedTreeNothing(t *testing.T) {
	ctx := context.Background()
	measure := func() float64 {
		return testing.AllocsPerRun(50, func() {
			s := &plainService{}
			s.Configure(service.Config{Logger: &quiet})
			if err := service.Start(ctx, s); err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	before := measure()
	other := newProbe("other", &recorder{})
	detach, err := service.Observe(other, &changes{})
	must(t, err)
	defer detach()
	if after := measure(); after != before {
		t.Errorf("allocations per start+stop: %v with an observer elsewhere, %v without", after, before)
	}
}

type plainService struct{ service.Base }

// filtered is a changes that hears of the given states only.
type filtered struct {
	changes
	states []service.State
}

func (f *filtered) ObservedStates() []service.State { return f.states }

var _ service.StateFilter = (*filtered)(nil)

// A StateFilter hears of the changes to the states it names and of no
// other; states out of range are ignored; its Stopped calls are not
// filtered. It is asked once, at Observe.
func TestObserveStateFilter(t *testing.T) {
	cases := []struct {
		name   string
		states []service.State
		want   string // root's changes over a start, a restart and a stop
	}{
		{"all states", []service.State{service.Init, service.Starting, service.Running, service.Stopping, service.Shutdown, service.Crashed},
			"init>starting starting>running running>stopping stopping>shutdown shutdown>starting starting>running running>stopping stopping>shutdown"},
		{"where services end up", []service.State{service.Running, service.Shutdown},
			"starting>running stopping>shutdown starting>running stopping>shutdown"},
		{"out of range ignored", []service.State{-1, 6, 31, 32, 1 << 20, service.Stopping},
			"running>stopping running>stopping"},
		{"none", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			root, _ := tree(t, &recorder{})
			f := &filtered{states: slices.Clone(tc.states)}
			detach, err := service.Observe(root, f)
			must(t, err)
			defer detach()
			clear(f.states) // asked once: a later change of mind has no effect
			must(t, service.Start(ctx, root))
			must(t, root.Restart(ctx))
			must(t, root.Stop(ctx))
			seen, stops := f.take()
			if got := of("root", seen); got != tc.want {
				t.Errorf("root:\n got: %s\nwant: %s", got, tc.want)
			}
			if of("root", stops) != "false false" { // the restart's stop and the Stop
				t.Errorf("Stopped calls: %v", stops)
			}
		})
	}
}
