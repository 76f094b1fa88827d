package mode_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// idle is a leaf that runs until stopped.
func idle() service.Service {
	l := zerolog.Nop()
	f := service.Func("job", func(ctx context.Context) error { <-ctx.Done(); return nil })
	f.Configure(service.Config{Logger: &l})
	return f
}

type nilService struct{ service.Base }

func TestWorkerBadConfig(t *testing.T) {
	nop := zerolog.Nop()
	var typedNil *nilService
	for _, tc := range []struct {
		name string
		w    *mode.Worker
		want error
	}{
		{"no service", &mode.Worker{}, mode.ErrNoService},
		{"typed nil service", &mode.Worker{Service: typedNil}, mode.ErrNoService},
		{"Logger and LogLevel", &mode.Worker{Service: idle(), Logger: &nop, LogLevel: "debug"}, mode.ErrConflictingOptions},
		{"Logger and LogFile", &mode.Worker{Service: idle(), Logger: &nop, LogFile: "x.log"}, mode.ErrConflictingOptions},
		{"bad LogLevel", &mode.Worker{Service: idle(), LogLevel: "verbose"}, mode.ErrBadConfig},
		{"LogFile in a missing directory", &mode.Worker{Service: idle(), LogFile: filepath.Join(t.TempDir(), "no", "x.log")}, os.ErrNotExist},
		{"LogFile is a directory", &mode.Worker{Service: idle(), LogFile: t.TempDir()}, mode.ErrBadConfig},
		{"negative StopTimeout", &mode.Worker{Service: idle(), Logger: &nop, StopTimeout: -1}, mode.ErrBadConfig},
		{"stop and dump signal", &mode.Worker{Service: idle(), Logger: &nop, DumpSignals: []os.Signal{syscall.SIGTERM}}, mode.ErrConflictingOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_ = tc.w.Dump() // never panics, whatever the Service
			err := tc.w.Run(context.Background())
			if !errors.Is(err, tc.want) || !errors.Is(err, mode.ErrBadConfig) {
				t.Fatalf("Run: %v, want %v and ErrBadConfig", err, tc.want)
			}
			if code := mode.ExitCode(err); code != mode.ExitBadConfig {
				t.Fatalf("ExitCode %d, want %d", code, mode.ExitBadConfig)
			}
			if tc.w.Service != nil && tc.w.Service != service.Service(typedNil) && tc.w.Service.State() != service.Init {
				t.Fatalf("service started: %v", tc.w.Service.State())
			}
		})
	}
}

func TestWorkerRunTwice(t *testing.T) {
	for _, tc := range []struct {
		name       string
		concurrent bool
	}{{"after the first returned", false}, {"while the first runs", true}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := quietWorker(idle())
			ready := make(chan struct{})
			w.Ready = func() { close(ready) }
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			<-ready
			if !tc.concurrent {
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("first Run: %v", err)
				}
			}
			err := w.Run(context.Background()) // returns at once, whatever the first does
			if !errors.Is(err, mode.ErrRunTwice) || mode.ExitCode(err) != mode.ExitBadConfig {
				t.Fatalf("second Run: %v", err)
			}
			if code := w.Execute(); code != mode.ExitBadConfig {
				t.Fatalf("Execute after Run: %d", code)
			}
			if tc.concurrent {
				if st := w.Service.State(); st != service.Running {
					t.Fatalf("the first run was disturbed: %v", st)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("first Run: %v", err)
				}
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		code int
	}{
		{"nil", nil, mode.ExitOK},
		{"bad config", mode.ErrNoService, mode.ExitBadConfig},
		{"wrapped bad config", fmt.Errorf("main: %w", mode.ErrRunTwice), mode.ExitBadConfig},
		{"an error Run did not make", errors.New("other"), mode.ExitFailure},
		{"a wrapped ErrForcedExit", fmt.Errorf("main: %w", mode.ErrForcedExit), mode.ExitForced},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := mode.ExitCode(tc.err); code != tc.code {
				t.Fatalf("ExitCode(%v) = %d, want %d", tc.err, code, tc.code)
			}
		})
	}
}

// A start cancelled by ctx and rolled back cleanly is a requested stop.
func TestWorkerContextEndsDuringStart(t *testing.T) {
	l := zerolog.Nop()
	entered := make(chan struct{})
	s := &startWaiter{entered: entered}
	s.Configure(service.Config{Logger: &l})
	ctx, cancel := context.WithCancel(context.Background())
	w := quietWorker(s)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	<-entered
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := s.State(); st != service.Init {
		t.Fatalf("state %v, want init (rolled back)", st)
	}
}

type startWaiter struct {
	service.Base
	entered chan struct{}
}

func (s *startWaiter) OnStart(ctx context.Context) error {
	close(s.entered)
	<-ctx.Done()
	return ctx.Err()
}

func TestWorkerLogOptions(t *testing.T) {
	for _, tc := range []struct {
		level string
		want  bool // the Info line "worker started" is written
	}{{"", true}, {"debug", true}, {"INFO", true}, {"warn", false}, {"disabled", false}} {
		t.Run("level "+tc.level, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "worker.log")
			ctx, cancel := context.WithCancel(context.Background())
			w := &mode.Worker{Service: idle(), LogFile: path, LogLevel: tc.level, Ready: cancel}
			if err := w.Run(ctx); err != nil {
				t.Fatalf("Run: %v", err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			if got := strings.Contains(s, `"message":"worker started"`); got != tc.want {
				t.Fatalf("level %q: worker started written = %v, want %v; log:\n%s", tc.level, got, tc.want, s)
			}
			if strings.Contains(s, "\x1b[") {
				t.Fatalf("colour codes in a file:\n%s", s)
			}
		})
	}
}

// A Run whose ctx has already ended starts nothing lasting and is a
// requested stop, however the start and the ctx race.
func TestWorkerContextEndedBeforeRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := quietWorker(idle())
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if st := w.Service.State(); st != service.Init && st != service.Shutdown {
		t.Fatalf("state %v", st)
	}
}

// A panic in Ready crashes the tree: it is stopped, and Run says why.
func TestWorkerReadyPanics(t *testing.T) {
	w := quietWorker(idle())
	w.Ready = func() { panic("sd_notify failed") }
	err := w.Run(context.Background())
	if !errors.Is(err, service.ErrPanic) || mode.ExitCode(err) != mode.ExitFailure {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
	if st := w.Service.State(); st != service.Shutdown {
		t.Fatalf("state %v, want shutdown", st)
	}
}
