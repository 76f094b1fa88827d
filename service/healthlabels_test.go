package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// hungCheck is a service whose Healthcheck tells when it runs and blocks
// until released.
type hungCheck struct {
	service.Base
	running chan struct{}
	release chan struct{}
}

func (h *hungCheck) Healthcheck(context.Context) error {
	h.running <- struct{}{}
	<-h.release
	return nil
}

// TestCheckHealthGoroutineLabelled: the goroutine CheckHealth runs a
// Healthcheck on (with a ctx that can end) carries the service's pprof
// labels like every bounded hook call, so a hung healthcheck shows under
// its service in DumpStacks.
func TestCheckHealthGoroutineLabelled(t *testing.T) {
	l := zerolog.Nop()
	h := &hungCheck{running: make(chan struct{}), release: make(chan struct{})}
	h.Configure(service.Config{Name: "probed", Logger: &l})
	if err := service.Start(bg(t), h); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg(t))
	done := make(chan error, 1)
	go func() { done <- service.CheckHealth(ctx, h) }()
	<-h.running
	_, body := stackSections(t)
	sec := body["service probed"]
	close(h.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := h.Stop(bg(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sec, "hungCheck).Healthcheck") || !strings.Contains(sec, `"mode.task":"Healthcheck"`) {
		t.Fatalf("section of service probed:\n%s", sec)
	}
}
