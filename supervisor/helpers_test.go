package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

var (
	quiet   = zerolog.Nop()
	errBoom = errors.New("boom")
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// events collects supervisor events and lets a test wait for them.
type events struct {
	mu   sync.Mutex
	all  []supervisor.Event
	cond chan struct{} // closed and replaced at each event
}

func newEvents() *events { return &events{cond: make(chan struct{})} }

func (e *events) hook(ev supervisor.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	close(e.cond)
	e.cond = make(chan struct{})
	e.mu.Unlock()
}

// wait blocks until n events of kind have arrived (for child id, if not
// empty) and returns them.
func (e *events) wait(t testing.TB, kind supervisor.EventKind, id string, n int) []supervisor.Event {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		e.mu.Lock()
		var got []supervisor.Event
		for _, ev := range e.all {
			if ev.Kind == kind && (id == "" || ev.Child == id) {
				got = append(got, ev)
			}
		}
		cond := e.cond
		e.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-cond:
		case <-timeout:
			t.Fatalf("timed out waiting for %d %v events of %q; have %v", n, kind, id, e.String())
		}
	}
}

func (e *events) count(kind supervisor.EventKind, id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Kind == kind && (id == "" || ev.Child == id) {
			n++
		}
	}
	return n
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		fmt.Fprintf(&b, "[%v %s] ", ev.Kind, ev.Child)
	}
	return b.String()
}

// worker is a child that blocks until stopped, can be crashed on demand and
// counts its starts.
type worker struct {
	service.Base
	mu     sync.Mutex
	starts int
	log    *[]string
	logMu  *sync.Mutex
	failAt map[int]error // start number → start error
}

func newWorker(name string) *worker {
	w := &worker{}
	w.Configure(service.Config{Name: name, Logger: &quiet})
	return w
}

func (w *worker) OnStart(ctx context.Context) error {
	w.mu.Lock()
	w.starts++
	n := w.starts
	err := w.failAt[n]
	w.mu.Unlock()
	if w.log != nil {
		w.logMu.Lock()
		*w.log = append(*w.log, "start "+w.ShortLabel())
		w.logMu.Unlock()
	}
	return err
}

func (w *worker) OnStop(context.Context) error {
	if w.log != nil {
		w.logMu.Lock()
		*w.log = append(*w.log, "stop "+w.ShortLabel())
		w.logMu.Unlock()
	}
	return nil
}

func (w *worker) Starts() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.starts
}

var _ service.OnStarter = (*worker)(nil)

func newSup(spec supervisor.Spec, ev *events) *supervisor.Supervisor {
	if spec.Service.Logger == nil {
		spec.Service.Logger = &quiet
	}
	if ev != nil {
		spec.OnEvent = ev.hook
	}
	return supervisor.New(spec)
}
