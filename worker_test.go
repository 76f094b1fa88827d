package mode_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// syncBuffer is a bytes.Buffer safe for the worker and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	hit chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.hit <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func quietWorker(s service.Service) *mode.Worker {
	l := zerolog.Nop()
	return &mode.Worker{Service: s, Logger: &l}
}

func TestWorkerStopsOnContext(t *testing.T) {
	l := zerolog.Nop()
	f := service.Func("job", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	f.Configure(service.Config{Logger: &l})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	w := quietWorker(f)
	w.Ready = func() { close(ready) }
	go func() { done <- w.Run(ctx) }()
	<-ready
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if f.State() != service.Shutdown {
		t.Fatalf("state %v", f.State())
	}
}

func TestWorkerExitCodes(t *testing.T) {
	l := zerolog.Nop()
	for _, tc := range []struct {
		name string
		fn   func(ctx context.Context) error
		code int
	}{
		{"normal exit", func(context.Context) error { return nil }, mode.ExitOK},
		{"crash without a supervisor", func(context.Context) error { return errBoomW }, mode.ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := service.Func("job", tc.fn)
			f.Configure(service.Config{Logger: &l})
			if code := quietWorker(f).Execute(); code != tc.code {
				t.Fatalf("exit code %d, want %d", code, tc.code)
			}
			if f.State() != service.Shutdown {
				t.Fatalf("state %v", f.State())
			}
		})
	}
	// A supervisor that gives up crashes the tree: ExitFailure with ErrMaxRestarts.
	sup := supervisor.New(supervisor.Spec{NeverRestart: true, Service: service.Config{Logger: &l}})
	f := service.Func("job", func(context.Context) error { return errBoomW })
	f.Configure(service.Config{Logger: &l})
	if err := sup.Add(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if err := quietWorker(sup).Run(context.Background()); !errors.Is(err, supervisor.ErrMaxRestarts) {
		t.Fatalf("Run: %v", err)
	}
	// A start that fails is ExitStartFailed.
	nilFunc := service.Func("nil", nil)
	nilFunc.Configure(service.Config{Logger: &l})
	if code := quietWorker(nilFunc).Execute(); code != mode.ExitStartFailed {
		t.Fatalf("failed start: exit %d", code)
	}
	if err := (&mode.Worker{}).Run(context.Background()); !errors.Is(err, mode.ErrNoService) {
		t.Fatalf("no service: %v", err)
	}
}

func TestWorkerSignals(t *testing.T) {
	l := zerolog.Nop()
	f := service.Func("job", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	f.Configure(service.Config{Logger: &l})
	out := &syncBuffer{hit: make(chan struct{}, 1)}
	w := quietWorker(f)
	w.DumpTo = out
	ready := make(chan struct{})
	w.Ready = func() { close(ready) }
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	<-ready
	// SIGUSR1 dumps the tree and the stacks and goes on.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-out.hit:
	case <-time.After(20 * time.Second):
		t.Fatal("no dump")
	}
	if s := out.String(); !strings.Contains(s, "job [running]") || !strings.Contains(s, "goroutine ") {
		t.Fatalf("dump:\n%s", s)
	}
	// SIGTERM stops it cleanly.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if f.State() != service.Shutdown {
		t.Fatalf("state %v", f.State())
	}
}

var errBoomW = errors.New("boom")
