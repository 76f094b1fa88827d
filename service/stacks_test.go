package service_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// stackSections splits DumpStacks' output into its sections by heading
// ("service app/x", "no service"), in order.
func stackSections(t *testing.T) (heads []string, body map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	if err := service.DumpStacks(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "goroutine profile: total ") {
		t.Fatalf("DumpStacks header:\n%s", out)
	}
	body = map[string]string{}
	for _, sec := range strings.Split(out, "\n== ")[1:] {
		head, rest, _ := strings.Cut(sec, "\n")
		name, _, _ := strings.Cut(head, ": ")
		heads = append(heads, name)
		body[name] = rest
	}
	return heads, body
}

// parked returns a task that tells running when it runs and parks until
// its run ends; its name in a stack tells it apart. A goroutine that has
// not run yet still has its creator's labels: tests wait for running.
func parked(running chan<- string, name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		running <- name
		<-ctx.Done()
		return nil
	}
}

// waitRunning waits for n tasks made by parked.
func waitRunning(t *testing.T, running <-chan string, n int) {
	t.Helper()
	for range n {
		select {
		case <-running:
		case <-bg(t).Done():
			t.Fatal("tasks did not run")
		}
	}
}

// parkedChild is a goroutine started from inside a task.
func parkedChild(ctx context.Context, running chan<- string, done chan<- struct{}) {
	running <- "child"
	<-ctx.Done()
	close(done)
}

func TestDumpStacksGroupsByService(t *testing.T) {
	ctx := bg(t)
	app := &timed{}
	app.Configure(service.Config{Name: "app", Logger: &quiet})
	childDone, running := make(chan struct{}), make(chan string, 10)
	app.onStart = func(context.Context, *timed) error {
		must(t, app.Go(`odd "name", with: quotes`, parked(running, "odd")))
		loop := parked(running, "loop")
		return app.Go("loop", func(ctx context.Context) error {
			go parkedChild(ctx, running, childDone) // inherits the task's labels
			return loop(ctx)
		})
	}
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "workers", Logger: &quiet}})
	pool := service.Func("pool", parked(running, "pool"))
	pool.Configure(service.Config{Logger: &quiet})
	must(t, sup.Add(ctx, pool))
	must(t, app.AddDependency(sup))
	must(t, service.Start(ctx, app))
	defer func() {
		must(t, app.Stop(ctx))
		<-childDone
	}()
	waitRunning(t, running, 4)

	heads, body := stackSections(t)
	tests := []struct {
		section string
		want    []string
	}{
		{"service app", []string{
			`"mode.service":"app", "mode.task":"loop"`,
			`"mode.task":"odd \"name\", with: quotes"`,
			".parked.", "service_test.parkedChild+",
		}},
		{"service app/workers", []string{`"mode.task":"supervisor"`, "supervisor.(*Supervisor).run+"}},
		{"service app/workers/pool", []string{`"mode.service":"app/workers/pool", "mode.task":"pool"`, ".parked."}},
		{"no service", []string{"testing.(*T).Run+"}},
	}
	for _, tt := range tests {
		b, ok := body[tt.section]
		if !ok {
			t.Errorf("no section %q; sections %q", tt.section, heads)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(b, w) {
				t.Errorf("section %q lacks %q:\n%s", tt.section, w, b)
			}
		}
	}
	if n := len(heads); n == 0 || heads[n-1] != "no service" {
		t.Errorf("sections %q: want no service last", heads)
	}
	if strings.Contains(body["no service"], "service_test.parked") {
		t.Errorf("a task's goroutine is not labelled:\n%s", body["no service"])
	}
}

// TestDumpStacksFollowsRenames checks that a service's labels follow its
// path: a renamed service, and a service moved under another parent, label
// their next run's goroutines with the new path.
func TestDumpStacksFollowsRenames(t *testing.T) {
	ctx := bg(t)
	running := make(chan string, 1)
	leaf := &timed{onStart: func(_ context.Context, s *timed) error { return s.Go("work", parked(running, "work")) }}
	leaf.Configure(service.Config{Name: "leaf", Logger: &quiet})
	top := &timed{}
	top.Configure(service.Config{Name: "top", Logger: &quiet})
	steps := []struct {
		name  string
		setup func()
		root  service.Service
		want  string
	}{
		{"alone", func() {}, leaf, "leaf"},
		{"again", func() {}, leaf, "leaf"},
		{"renamed", func() { leaf.Configure(service.Config{Name: "leaf2", Logger: &quiet}) }, leaf, "leaf2"},
		{"under a parent", func() { must(t, top.AddDependency(leaf)) }, top, "top/leaf2"},
		{"parent renamed", func() { top.Configure(service.Config{Name: "top2", Logger: &quiet}) }, top, "top2/leaf2"},
	}
	for _, st := range steps {
		st.setup()
		if st.root.State() == service.Init {
			must(t, service.Start(ctx, st.root))
		} else {
			must(t, st.root.Restart(ctx))
		}
		waitRunning(t, running, 1)
		_, body := stackSections(t)
		if b := body["service "+st.want]; !strings.Contains(b, `"mode.task":"work"`) {
			t.Errorf("%s: no task work under service %s: %v", st.name, st.want, body)
		}
		must(t, st.root.Stop(ctx))
	}
}
