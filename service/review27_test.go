package service_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
)

// The package doc ("# Error texts"): "An error names each service once and
// says each operation once". Two common errors do not.

type review27Hung struct {
	service.Base
	release chan struct{}
}

func (h *review27Hung) OnStop(context.Context) error { <-h.release; return nil }

type review27AddInStart struct{ service.Base }

func (a *review27AddInStart) OnStart(context.Context) error {
	return a.AddDependency(&service.Base{})
}

// Stop of a service whose OnStop hangs returns
// "review27Hung: stop: OnStop: mode: stop timed out: review27Hung: OnStop did not return":
// "OnStop" twice. (The label twice is the documented exception: the list
// of what still runs names each item by its path, here the label again.)
func TestReview27StopTimeoutStutter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &review27Hung{release: make(chan struct{})}
		h.Configure(service.Config{StopTimeout: time.Second})
		if err := service.Start(context.Background(), h); err != nil {
			t.Fatal(err)
		}
		err := h.Stop(context.Background())
		close(h.release)
		if err == nil {
			t.Fatal("Stop returned nil")
		}
		if n := strings.Count(err.Error(), "OnStop"); n != 1 {
			t.Errorf("%q names OnStop %d times, want once", err, n)
		}
	})
}

// A child added in OnStart fails the start with
// "review27AddInStart: start: OnStart: review27AddInStart: add Base: mode: child added in OnStart ...: Base under review27AddInStart, from review27AddInStart.OnStart":
// the parent's label four times, OnStart three. Now twice: the start's
// opener, and the error of AddDependency, which OnStart returns as it got
// it (called alone, AddDependency must name its receiver):
// "review27AddInStart: start: OnStart: review27AddInStart: add Base: mode: child added in OnStart ... (from OnStart)".
func TestReview27AddedInOnStartStutter(t *testing.T) {
	err := service.Start(context.Background(), &review27AddInStart{})
	if err == nil {
		t.Fatal("Start returned nil")
	}
	if n := strings.Count(err.Error(), "review27AddInStart"); n > 2 {
		t.Errorf("%q names the parent %d times, want the opener and AddDependency's", err, n)
	}
	if n := strings.Count(err.Error(), " under "); n != 0 {
		t.Errorf("%q says where the child was added again", err)
	}
}
