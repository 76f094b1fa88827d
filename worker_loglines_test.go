package mode_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// crashHang crashes once crashOn is closed; its OnStop hangs until
// release is closed.
type crashHang struct {
	service.Base
	crashOn chan struct{}
	release chan struct{}
}

func (s *crashHang) OnStart(context.Context) error {
	return s.Go("work", func(ctx context.Context) error {
		select {
		case <-s.crashOn:
			return errors.New("boom")
		case <-ctx.Done():
			return nil
		}
	})
}

func (s *crashHang) OnStop(context.Context) error {
	<-s.release
	return nil
}

// TestWorkerOwnLogLines: the Worker's own lines follow the library's
// conventions: a report joining several errors (a crash and a stop that
// timed out, a failed start and what its rollback abandoned) is one line
// per error, never one line with newlines inside; a panic in Ready is
// logged with its stack (once: a repeat says stack_seen).
func TestWorkerOwnLogLines(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *mode.Worker, quiet *zerolog.Logger)
		code  int
		stack bool // a line carries the panic's stack
	}{
		{"crash whose stop times out", func(t *testing.T, w *mode.Worker, quiet *zerolog.Logger) {
			s := &crashHang{crashOn: make(chan struct{}), release: make(chan struct{})}
			t.Cleanup(func() { close(s.release) })
			s.Configure(service.Config{Logger: quiet})
			w.Service, w.StopTimeout = s, 50*time.Millisecond
			w.Ready = func() { close(s.crashOn) }
		}, mode.ExitStopTimeout, false},
		{"failed start whose rollback times out", func(t *testing.T, w *mode.Worker, quiet *zerolog.Logger) {
			s := &hangStop{failStart: true, entered: make(chan struct{}), release: make(chan struct{})}
			t.Cleanup(func() { close(s.release) })
			s.Configure(service.Config{Logger: quiet, StopTimeout: 50 * time.Millisecond})
			w.Service = s
		}, mode.ExitStopTimeout, false},
		{"Ready panics", func(t *testing.T, w *mode.Worker, _ *zerolog.Logger) {
			w.Service = idle()
			w.Ready = func() { panic("sd_notify failed") }
		}, mode.ExitFailure, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &syncBuffer{hit: make(chan struct{}, 1)}
			l := zerolog.New(out)
			quiet := zerolog.Nop()
			w := &mode.Worker{Logger: &l}
			tc.setup(t, w, &quiet)
			err := w.Run(context.Background())
			if code := mode.ExitCode(err); code != tc.code {
				t.Fatalf("Run: %v: exit %d, want %d", err, code, tc.code)
			}
			stack := false
			for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatalf("not JSON: %q: %v", line, err)
				}
				if e, _ := m["error"].(string); strings.Contains(e, "\n") {
					t.Errorf("an error with newlines inside one line: %s", line)
				}
				if _, ok := m["stack"]; ok {
					stack = true
				} else if _, ok := m["stack_seen"]; ok { // logged by an earlier run of this test
					stack = true
				}
			}
			if stack != tc.stack {
				t.Errorf("a line with the stack: %v, want %v; log:\n%s", stack, tc.stack, out.String())
			}
		})
	}
}
