package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// jsonLog is a zerolog output that keeps the JSON lines written to it.
type jsonLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *jsonLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines decodes the lines written so far.
func (b *jsonLog) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// find returns the lines with message msg.
func (b *jsonLog) find(t *testing.T, msg string) []map[string]any {
	var out []map[string]any
	for _, m := range b.lines(t) {
		if m["message"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func newLog(level zerolog.Level) (*jsonLog, *zerolog.Logger) {
	b := &jsonLog{}
	l := zerolog.New(b).Level(level)
	return b, &l
}

type logSvc struct{ service.Base }

// TestWithLogger checks where each service's lines go: its own logger, its
// parent's, the start ctx's (WithLogger), in that order.
func TestWithLogger(t *testing.T) {
	tests := []struct {
		name                 string
		ctxLog, rootLog, kid bool // which loggers are set: WithLogger, the root's, the child's
		wantRoot, wantChild  string
	}{
		{name: "ctx only", ctxLog: true, wantRoot: "ctx", wantChild: "ctx"},
		{name: "root's own beats ctx", ctxLog: true, rootLog: true, wantRoot: "root", wantChild: "root"},
		{name: "child's own", ctxLog: true, kid: true, wantRoot: "ctx", wantChild: "kid"},
		{name: "parent's without ctx", rootLog: true, wantRoot: "root", wantChild: "root"},
		{name: "all three", ctxLog: true, rootLog: true, kid: true, wantRoot: "root", wantChild: "kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bufs := map[string]*jsonLog{}
			logger := func(name string) *zerolog.Logger {
				b, l := newLog(zerolog.DebugLevel)
				bufs[name] = b
				return l
			}
			ctx := context.Background()
			if tt.ctxLog {
				ctx = service.WithLogger(ctx, logger("ctx"))
			}
			root, kid := &logSvc{}, &logSvc{}
			rc, kc := service.Config{Name: "root"}, service.Config{Name: "kid"}
			if tt.rootLog {
				rc.Logger = logger("root")
			}
			if tt.kid {
				kc.Logger = logger("kid")
			}
			root.Configure(rc)
			kid.Configure(kc)
			if err := root.AddDependency(kid); err != nil {
				t.Fatal(err)
			}
			if err := service.Start(ctx, root); err != nil {
				t.Fatal(err)
			}
			if err := root.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			for name, b := range bufs {
				for _, m := range b.lines(t) {
					svc := m["service"]
					want := map[string]string{"root": tt.wantRoot, "kid": tt.wantChild}[svc.(string)]
					if want != name {
						t.Errorf("line %v of %s went to the %s logger, want %s", m["message"], svc, name, want)
					}
				}
			}
			for svc, want := range map[string]string{"root": tt.wantRoot, "kid": tt.wantChild} {
				n := 0
				for _, m := range bufs[want].lines(t) {
					if m["service"] == svc {
						n++
					}
				}
				if n != 4 {
					t.Errorf("%s: %d lines in the %s logger, want 4 (Starting, Started, Stopping, Stopped)", svc, n, want)
				}
			}
		})
	}
}

// TestWithLoggerChangesAtNextStart: a root started again under another
// WithLogger logs there, and so do its children; Configure of a parent
// reaches its children at once.
func TestWithLoggerChangesAtNextStart(t *testing.T) {
	b1, l1 := newLog(zerolog.DebugLevel)
	b2, l2 := newLog(zerolog.DebugLevel)
	b3, l3 := newLog(zerolog.DebugLevel)
	root, kid := &logSvc{}, &logSvc{}
	root.Configure(service.Config{Name: "root"})
	kid.Configure(service.Config{Name: "kid"})
	if err := root.AddDependency(kid); err != nil {
		t.Fatal(err)
	}
	ctx1 := service.WithLogger(context.Background(), l1)
	if err := service.Start(ctx1, root); err != nil {
		t.Fatal(err)
	}
	ctx2 := service.WithLogger(context.Background(), l2)
	if err := root.Restart(ctx2); err != nil { // stops under l1, starts under l2
		t.Fatal(err)
	}
	if err := root.Stop(ctx2); err != nil {
		t.Fatal(err)
	}
	root.Configure(service.Config{Name: "root", Logger: l3})
	kid.Log().Info().Msg("after Configure")
	for i, b := range []*jsonLog{b1, b2} {
		if n := len(b.lines(t)); n != 8 {
			t.Errorf("logger %d: %d lines, want 8 (4 per service)", i+1, n)
		}
	}
	if got := b3.find(t, "after Configure"); len(got) != 1 || got[0]["service"] != "kid" {
		t.Errorf("after the parent's Configure: %v, want the kid's line in the parent's new logger", got)
	}
}

// TestMundaneLevels: the routine lines are at Config.LogLevel (default
// Debug), so an Info logger shows none of them.
func TestMundaneLevels(t *testing.T) {
	for _, tt := range []struct {
		name  string
		cfg   zerolog.Level
		log   zerolog.Level
		lines int
	}{
		{"default debug, info logger", 0, zerolog.InfoLevel, 0},
		{"default debug, debug logger", 0, zerolog.DebugLevel, 4},
		{"info, info logger", zerolog.InfoLevel, zerolog.InfoLevel, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, l := newLog(tt.log)
			s := &logSvc{}
			s.Configure(service.Config{Name: "s", LogLevel: tt.cfg})
			ctx := service.WithLogger(context.Background(), l)
			if err := service.Start(ctx, s); err != nil {
				t.Fatal(err)
			}
			if err := s.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(b.lines(t)); n != tt.lines {
				t.Errorf("%d lines, want %d", n, tt.lines)
			}
		})
	}
}

// TestCrashLineAndStack: a crash is logged once at Error under the service
// that crashed, with its unit of restart; a panic's stack comes with the
// first crash and is not printed again for the same stack.
func TestCrashLineAndStack(t *testing.T) {
	b, l := newLog(zerolog.InfoLevel)
	ctx := service.WithLogger(context.Background(), l)
	root := &logSvc{}
	root.Configure(service.Config{Name: "api"})
	fire := make(chan struct{}) // a run panics once told: its start has completed
	panics := service.Func("cache", func(ctx context.Context) error {
		select {
		case <-fire:
			panic("cache broke")
		case <-ctx.Done():
			return nil
		}
	})
	if err := root.AddDependency(panics); err != nil {
		t.Fatal(err)
	}
	if err := service.Start(ctx, root); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		fire <- struct{}{}
		if err := root.WaitUntilStopped(ctx); !errors.Is(err, service.ErrPanic) {
			t.Fatalf("run %d: %v, want a panic", i, err)
		}
		if i < 2 {
			if err := root.Restart(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = root.Stop(ctx)
	crashes := b.find(t, "Crashed")
	if len(crashes) != 3 {
		t.Fatalf("%d crash lines, want 3: %v", len(crashes), b.lines(t))
	}
	for i, m := range crashes {
		if m["level"] != "error" || m["service"] != "cache" || m["unit"] != "api" || !strings.Contains(m["error"].(string), "cache broke") {
			t.Errorf("crash %d: %v, want level=error service=cache unit=api and the reason", i, m)
		}
	}
	// Stacks are remembered for the process: a run of this test with
	// -count>1 finds its stack seen already.
	seen := 1.0
	if n, ok := crashes[0]["stack_seen"].(float64); ok {
		seen = n
	} else if stack, ok := crashes[0]["stack"].([]any); !ok || len(stack) == 0 || !strings.Contains(stack[0].(string), "TestCrashLineAndStack") {
		t.Errorf("first crash: stack %v, want frames from the function that panicked", crashes[0]["stack"])
	}
	for i, m := range crashes[1:] {
		if _, has := m["stack"]; has || m["stack_seen"] != seen+float64(i+1) {
			t.Errorf("crash %d: stack %v stack_seen %v, want no stack and stack_seen=%v", i+2, m["stack"] != nil, m["stack_seen"], seen+float64(i+1))
		}
	}
}

// TestStopWaitNotice: a stop that waits for more than a second says what
// for and how much budget is left; one that waits less says nothing.
func TestStopWaitNotice(t *testing.T) {
	tests := []struct {
		name    string
		hold    time.Duration // how long the task ignores its ctx
		budget  time.Duration
		notices []string // budget_left of each notice
		timeout bool
	}{
		{name: "done within a second", hold: 900 * time.Millisecond, budget: 10 * time.Second},
		{name: "done after two seconds", hold: 2 * time.Second, budget: 10 * time.Second, notices: []string{"9s"}},
		{name: "budget runs out", hold: time.Hour, budget: 4 * time.Second, notices: []string{"3s", "1s"}, timeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, l := newLog(zerolog.InfoLevel)
				s := &logSvc{}
				s.Configure(service.Config{Name: "s", Logger: l, StopTimeout: tt.budget})
				release := make(chan struct{})
				ctx := context.Background()
				if err := service.Start(ctx, s); err != nil {
					t.Fatal(err)
				}
				if err := s.Go("slow", func(context.Context) error {
					select {
					case <-time.After(tt.hold):
					case <-release:
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				err := s.Stop(ctx)
				close(release)
				if tt.timeout != errors.Is(err, service.ErrStopTimeout) {
					t.Errorf("Stop: %v, want a time-out: %v", err, tt.timeout)
				}
				got := b.find(t, "Stop is waiting")
				if len(got) != len(tt.notices) {
					t.Fatalf("%d notices, want %d: %v", len(got), len(tt.notices), got)
				}
				for i, m := range got {
					if m["budget_left"] != tt.notices[i] || m["waiting_for"] != "tasks to return" || m["service"] != "s" {
						t.Errorf("notice %d: %v, want budget_left=%s waiting_for tasks", i, m, tt.notices[i])
					}
					if tasks, _ := m["tasks"].([]any); len(tasks) != 1 || tasks[0] != "slow" {
						t.Errorf("notice %d: tasks %v, want [slow]", i, m["tasks"])
					}
				}
			})
		})
	}
}

// slowStopSvc's OnStop returns after hold, or when release is closed.
type slowStopSvc struct {
	service.Base
	hold    time.Duration
	release chan struct{}
}

func (s *slowStopSvc) OnStop(context.Context) error {
	select {
	case <-time.After(s.hold):
	case <-s.release:
	}
	return nil
}

// TestHookWaitNotice: a stop hook that runs for more than a second is
// announced with its name, how long it has run and the budget left; a
// quicker one is not.
func TestHookWaitNotice(t *testing.T) {
	tests := []struct {
		name    string
		hold    time.Duration
		budget  time.Duration
		waited  []string // waited of each notice
		left    []string // budget_left of each notice
		timeout bool
	}{
		{name: "returns within a second", hold: 900 * time.Millisecond, budget: 10 * time.Second},
		{name: "returns after two seconds", hold: 2 * time.Second, budget: 10 * time.Second, waited: []string{"1s"}, left: []string{"9s"}},
		{name: "budget runs out", hold: time.Hour, budget: 5 * time.Second, waited: []string{"1s", "3s"}, left: []string{"4s", "2s"}, timeout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, l := newLog(zerolog.InfoLevel)
				s := &slowStopSvc{hold: tt.hold, release: make(chan struct{})}
				s.Configure(service.Config{Name: "s", Logger: l, StopTimeout: tt.budget})
				ctx := context.Background()
				if err := service.Start(ctx, s); err != nil {
					t.Fatal(err)
				}
				err := s.Stop(ctx)
				close(s.release)
				synctest.Wait() // an abandoned OnStop returns and logs
				if tt.timeout != errors.Is(err, service.ErrStopTimeout) {
					t.Errorf("Stop: %v, want a time-out: %v", err, tt.timeout)
				}
				got := b.find(t, "Waiting for a hook")
				if len(got) != len(tt.waited) {
					t.Fatalf("%d notices, want %d: %v", len(got), len(tt.waited), got)
				}
				for i, m := range got {
					if m["waited"] != tt.waited[i] || m["budget_left"] != tt.left[i] || m["service"] != "s" || !strings.HasSuffix(m["waiting_for"].(string), "OnStop") {
						t.Errorf("notice %d: %v, want waited=%s budget_left=%s waiting_for …OnStop", i, m, tt.waited[i], tt.left[i])
					}
				}
			})
		})
	}
}
