package supervisor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// jsonLines is a zerolog output keeping the lines written to it.
type jsonLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (j *jsonLines) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.Write(p)
}

// String returns what was written so far.
func (j *jsonLines) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.String()
}

// with returns the decoded lines with message msg.
func (j *jsonLines) with(t *testing.T, msg string) []map[string]any {
	t.Helper()
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(j.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		if m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// lsUnit is a service with a child; the child crashes when told.
type lsUnit struct{ service.Base }

// lsTree builds sup → api → cache, where cache crashes with "cache broke"
// each time a value arrives on the channel returned.
func lsTree(t *testing.T, spec supervisor.Spec, events chan<- supervisor.Event) (*supervisor.Supervisor, chan struct{}) {
	t.Helper()
	crash := make(chan struct{})
	cache := service.Func("cache", func(ctx context.Context) error {
		select {
		case <-crash:
			return errors.New("cache broke")
		case <-ctx.Done():
			return nil
		}
	})
	api := &lsUnit{}
	api.Configure(service.Config{Name: "api"})
	if err := api.AddDependency(cache); err != nil {
		t.Fatal(err)
	}
	spec.OnEvent = func(e supervisor.Event) { events <- e }
	sup := supervisor.New(spec)
	sup.Configure(service.Config{Name: "sup"})
	if err := sup.Add(context.Background(), api); err != nil {
		t.Fatal(err)
	}
	return sup, crash
}

func waitEvent(t *testing.T, events <-chan supervisor.Event, kind supervisor.EventKind) supervisor.Event {
	t.Helper()
	for e := range events {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatal("events closed")
	return supervisor.Event{}
}

// TestLifecycleLines: a crash at Error under the service that crashed,
// with its unit of restart; the restart at Info with its count and delay;
// giving up at Error; the routine lines and the supervisor's own copy of
// the crash at Debug only.
func TestLifecycleLines(t *testing.T) {
	logs := &jsonLines{}
	l := zerolog.New(logs).Level(zerolog.InfoLevel)
	ctx := service.WithLogger(context.Background(), &l)
	events := make(chan supervisor.Event, 64)
	sup, crash := lsTree(t, supervisor.Spec{MaxRestarts: 1, Window: time.Hour}, events)
	if err := service.Start(ctx, sup); err != nil {
		t.Fatal(err)
	}
	crash <- struct{}{}
	waitEvent(t, events, supervisor.ChildRestarted)
	crash <- struct{}{}
	if err := sup.WaitUntilStopped(ctx); !errors.Is(err, supervisor.ErrMaxRestarts) {
		t.Fatalf("supervisor ended with %v, want ErrMaxRestarts", err)
	}
	_ = sup.Stop(ctx)

	crashed := logs.with(t, "Crashed")
	if len(crashed) != 3 {
		t.Fatalf("%d crash lines, want 3 (cache twice, then sup): %v", len(crashed), crashed)
	}
	for i, m := range crashed[:2] {
		if m["level"] != "error" || m["service"] != "cache" || m["unit"] != "api" || m["error"] != "cache: cache broke" {
			t.Errorf("crash %d: %v, want level=error service=cache unit=api error=%q", i, m, "cache: cache broke")
		}
	}
	if m := crashed[2]; m["service"] != "sup" || m["unit"] != "sup" ||
		m["error"] != "sup: restart intensity exceeded (1 in 1h0m0s): api: cache: cache broke" {
		t.Errorf("the supervisor's crash: %v", m)
	}
	restarted := logs.with(t, "Restarted child")
	if len(restarted) != 1 || restarted[0]["level"] != "info" || restarted[0]["child"] != "api" ||
		restarted[0]["restarts"] != float64(1) || restarted[0]["delay"] != "0s" || restarted[0]["service"] != "sup" {
		t.Errorf("restart lines: %v, want one at info with child=api restarts=1 delay=0s", restarted)
	}
	gaveUp := logs.with(t, "Giving up: restart intensity exceeded")
	if len(gaveUp) != 1 || gaveUp[0]["level"] != "error" || gaveUp[0]["child"] != "api" {
		t.Errorf("give-up lines: %v, want one at error with child=api", gaveUp)
	}
	for _, msg := range []string{"Child crashed", "Starting", "Started", "Stopping", "Stopped"} {
		if got := logs.with(t, msg); len(got) != 0 {
			t.Errorf("%q logged at Info or above: %v", msg, got)
		}
	}
}

// TestBackoffAndEscalationLines: under a backoff the restart line carries
// the delay waited; a nested supervisor that gives up says it escalates.
func TestBackoffAndEscalationLines(t *testing.T) {
	logs := &jsonLines{}
	l := zerolog.New(logs).Level(zerolog.InfoLevel)
	ctx := service.WithLogger(context.Background(), &l)
	events := make(chan supervisor.Event, 64)
	spec := supervisor.Spec{MaxRestarts: 1, Window: time.Hour,
		Backoff: strategy.Backoff{Min: 20 * time.Millisecond, Max: 20 * time.Millisecond, Factor: 1, NoJitter: true}}
	inner, crash := lsTree(t, spec, events)
	outer := supervisor.New(supervisor.Spec{NeverRestart: true})
	outer.Configure(service.Config{Name: "outer"})
	if err := outer.Add(ctx, inner); err != nil {
		t.Fatal(err)
	}
	if err := service.Start(ctx, outer); err != nil {
		t.Fatal(err)
	}
	crash <- struct{}{}
	waitEvent(t, events, supervisor.ChildRestarted)
	crash <- struct{}{}
	_ = outer.WaitUntilStopped(ctx)
	_ = outer.Stop(ctx)

	for _, msg := range []string{"Restarting child after a backoff", "Restarted child"} {
		got := logs.with(t, msg)
		if len(got) != 1 || got[0]["delay"] != "20ms" || got[0]["child"] != "api" || got[0]["level"] != "info" {
			t.Errorf("%q: %v, want one line at info with child=api delay=20ms", msg, got)
		}
	}
	esc := logs.with(t, "Escalating: restart intensity exceeded")
	if len(esc) != 1 || esc[0]["service"] != "sup" || esc[0]["escalate_to"] != "outer" || esc[0]["level"] != "error" {
		t.Errorf("escalation lines: %v, want one from sup to outer at error", esc)
	}
}

// lsJoined fails its stop twice: OnStop and a deferred closer.
type lsJoined struct{ service.Base }

func (s *lsJoined) OnStart(context.Context) error {
	return s.Defer(func() error { return errors.New("closer failed") })
}
func (s *lsJoined) OnStop(context.Context) error { return errors.New("flush failed") }

// TestJoinedStopReportLines: a stop report joining several errors is
// logged as one line per error, each whole, none with a newline inside.
func TestJoinedStopReportLines(t *testing.T) {
	logs := &jsonLines{}
	l := zerolog.New(logs).Level(zerolog.InfoLevel)
	ctx := service.WithLogger(context.Background(), &l)
	events := make(chan supervisor.Event, 64)
	child := &lsJoined{}
	child.Configure(service.Config{Name: "db"})
	sup := supervisor.New(supervisor.Spec{OnEvent: func(e supervisor.Event) { events <- e }})
	sup.Configure(service.Config{Name: "sup"})
	if err := sup.Add(ctx, child); err != nil {
		t.Fatal(err)
	}
	if err := service.Start(ctx, sup); err != nil {
		t.Fatal(err)
	}
	child.Crash(errors.New("down"))
	waitEvent(t, events, supervisor.ChildRestarted)
	_ = sup.Stop(ctx)
	got := logs.with(t, "Stopping child for its restart failed")
	want := []string{"lsJoined(db): stop: OnStop: flush failed", "lsJoined(db): stop: exit stack: closer failed"}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d: %v", len(got), len(want), got)
	}
	for i, m := range got {
		if m["error"] != want[i] || m["child"] != "db" || m["level"] != "warn" {
			t.Errorf("line %d: %v, want error=%q child=db at warn", i, m, want[i])
		}
	}
}
