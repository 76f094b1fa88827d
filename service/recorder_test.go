package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// quiet is a disabled logger for tests.
var quiet = zerolog.Nop()

// recorder collects hook calls from many services in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// probe is a service recording each hook; fail makes one hook fail.
type probe struct {
	service.Base
	name    string
	rec     *recorder
	fail    map[string]error
	onStart func(ctx context.Context, p *probe) error
}

func newProbe(name string, rec *recorder) *probe {
	p := &probe{name: name, rec: rec, fail: map[string]error{}}
	p.Configure(service.Config{Name: name, Logger: &quiet})
	return p
}

func (p *probe) hook(h string) error {
	p.rec.add("%s.%s", p.name, h)
	return p.fail[h]
}

func (p *probe) OnFirstStart(context.Context) error { return p.hook("OnFirstStart") }
func (p *probe) OnStart(ctx context.Context) error {
	if p.onStart != nil {
		if err := p.onStart(ctx, p); err != nil {
			return err
		}
	}
	return p.hook("OnStart")
}
func (p *probe) OnStarted(context.Context) error  { return p.hook("OnStarted") }
func (p *probe) OnStop(context.Context) error     { return p.hook("OnStop") }
func (p *probe) OnShutdown(context.Context) error { return p.hook("OnShutdown") }
func (p *probe) OnRestart(context.Context) error  { return p.hook("OnRestart") }

var (
	_ service.OnFirstStarter = (*probe)(nil)
	_ service.OnStarter      = (*probe)(nil)
	_ service.OnStartedHook  = (*probe)(nil)
	_ service.OnStopper      = (*probe)(nil)
	_ service.OnShutdowner   = (*probe)(nil)
	_ service.OnRestarter    = (*probe)(nil)
)

// tree builds root → (a → (a1, a2), b → b1), three levels.
func tree(t *testing.T, rec *recorder) (root *probe, all []*probe) {
	t.Helper()
	root = newProbe("root", rec)
	a, b := newProbe("a", rec), newProbe("b", rec)
	a1, a2, b1 := newProbe("a1", rec), newProbe("a2", rec), newProbe("b1", rec)
	must(t, root.AddDependency(a))
	must(t, root.AddDependency(b))
	must(t, a.AddDependency(a1))
	must(t, a.AddDependency(a2))
	must(t, b.AddDependency(b1))
	return root, []*probe{root, a, a1, a2, b, b1}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantEvents(t *testing.T, got []string, want string) {
	t.Helper()
	if g := strings.Join(got, " "); g != want {
		t.Fatalf("events:\n got: %s\nwant: %s", g, want)
	}
}

func wantStates(t *testing.T, want service.State, ss ...*probe) {
	t.Helper()
	for _, s := range ss {
		if st := s.State(); st != want {
			t.Errorf("%s: state %s, want %s", s.name, st, want)
		}
	}
}

// blockTask is a task that returns when its context ends.
func blockTask(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// bg is a bounded context for tests.
func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var errBoom = errors.New("boom")
