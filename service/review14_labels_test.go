package service_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// review14Park parks until ctx ends; goroutines parked here are the ones
// a labels test looks at.
//
//go:noinline
func review14Park(ctx context.Context) { <-ctx.Done() }

var labelsLine = regexp.MustCompile(`^# labels: \{"mode.service":"([^"]*)", "mode.task":"([^"]*)"\}$`)

// parkedLabels returns "service|task" for each goroutine parked in
// review14Park ("-" when it has no labels of ours), sorted; with all, for
// every goroutine instead.
func parkedLabels(t *testing.T, all bool) []string {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		lines := strings.Split(rec, "\n")
		var n int
		if _, err := fmt.Sscanf(lines[0], "%d @", &n); err != nil {
			continue
		}
		if !all && !strings.Contains(rec, "review14Park") {
			continue
		}
		l := "-"
		for _, line := range lines[1:] {
			if m := labelsLine.FindStringSubmatch(line); m != nil {
				l = m[1] + "|" + m[2]
			}
		}
		for range n {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// waitParked waits until the goroutines parked in review14Park have
// exactly the labels want (a goroutine sets its labels first thing: until
// then it has its creator's).
func waitParked(t *testing.T, want ...string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := parkedLabels(t, false)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked goroutines' labels\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// tasker starts, in OnStart, a task per name in names; a task named
// "outer:<x>" starts task <x> from inside itself.
type tasker struct {
	service.Base
	names []string
}

func newTasker(name string, names ...string) *tasker {
	s := &tasker{names: names}
	s.Configure(service.Config{Name: name, Logger: &quiet})
	return s
}

func (s *tasker) OnStart(context.Context) error {
	for _, n := range s.names {
		if err := s.Go(n, s.task(n)); err != nil {
			return err
		}
	}
	return nil
}

func (s *tasker) task(n string) func(context.Context) error {
	return func(ctx context.Context) error {
		if inner, ok := strings.CutPrefix(n, "outer:"); ok {
			if err := s.Go(inner, s.task(inner)); err != nil {
				return err
			}
		}
		review14Park(ctx)
		return nil
	}
}

// TestReview14TaskLabels: the pprof labels (LabelService, LabelTask) of
// goroutines the library starts, now found by launch on the starter's
// goroutine: Go from OnStart and from inside a task, a Func, timers,
// monitors; after the service or an ancestor is renamed and after a move;
// beyond the 64 cached task names; after restarts (a Func's first task
// name read lock-free).
func TestReview14TaskLabels(t *testing.T) {
	t.Run("go", func(t *testing.T) {
		ctx := bg(t)
		s := newTasker("app", "a", "outer:b")
		must(t, service.Start(ctx, s))
		waitParked(t, "app|a", "app|outer:b", "app|b")
		must(t, s.Restart(ctx))
		waitParked(t, "app|a", "app|outer:b", "app|b")
		s.Configure(service.Config{Name: "app2", Logger: &quiet}) // at once for names
		must(t, s.Restart(ctx))
		waitParked(t, "app2|a", "app2|outer:b", "app2|b")
		must(t, s.Stop(ctx))
		waitParked(t)
	})
	t.Run("func", func(t *testing.T) {
		ctx := bg(t)
		parent := newTasker("top")
		f := service.Func("fn", func(ctx context.Context) error { review14Park(ctx); return nil })
		f.Configure(service.Config{Name: "f1", Logger: &quiet})
		must(t, parent.AddDependency(f))
		must(t, service.Start(ctx, parent))
		waitParked(t, "top/f1|fn")
		for range 3 { // the first task's labels, read without the lock
			must(t, f.Restart(ctx))
			waitParked(t, "top/f1|fn")
		}
		parent.Configure(service.Config{Name: "top2", Logger: &quiet})
		must(t, f.Restart(ctx))
		waitParked(t, "top2/f1|fn")
		f.Configure(service.Config{Name: "f2", Logger: &quiet})
		must(t, f.Restart(ctx))
		waitParked(t, "top2/f2|fn")
		must(t, parent.Stop(ctx))
		waitParked(t)
	})
	t.Run("move", func(t *testing.T) {
		ctx := bg(t)
		a, b := newTasker("a"), newTasker("b")
		kid := newTasker("kid", "k")
		must(t, a.AddDependency(kid))
		must(t, service.Start(ctx, a))
		must(t, service.Start(ctx, b))
		waitParked(t, "a/kid|k")
		must(t, a.RemoveDependency(ctx, kid))
		waitParked(t)
		must(t, b.AddRuntimeDependency(ctx, kid)) // moved: restarted under b
		waitParked(t, "b/kid|k")
		must(t, b.RemoveDependency(ctx, kid))
		must(t, kid.Restart(ctx)) // a root now
		waitParked(t, "kid|k")
		must(t, kid.Stop(ctx))
		must(t, a.Stop(ctx))
		must(t, b.Stop(ctx))
		waitParked(t)
	})
	t.Run("many-names", func(t *testing.T) {
		ctx := bg(t)
		var names, want []string
		for i := range 70 {
			names = append(names, fmt.Sprintf("t%02d", i))
			want = append(want, fmt.Sprintf("many|t%02d", i))
		}
		s := newTasker("many", names...)
		must(t, service.Start(ctx, s))
		waitParked(t, want...)
		must(t, s.Restart(ctx))
		waitParked(t, want...)
		s.Configure(service.Config{Name: "many2", Logger: &quiet})
		must(t, s.Restart(ctx))
		for i := range want {
			want[i] = strings.Replace(want[i], "many|", "many2|", 1)
		}
		waitParked(t, want...)
		must(t, s.Stop(ctx))
		waitParked(t)
	})
	t.Run("timers-monitors", func(t *testing.T) {
		ctx := bg(t)
		s := newTasker("tm")
		s.Configure(service.Config{Name: "tm", Logger: &quiet, HeartbeatDeadline: time.Hour})
		must(t, service.Start(ctx, s))
		park := func(ctx context.Context) error { review14Park(ctx); return nil }
		must(t, s.Every(time.Hour, park, service.ExecFirst(), service.Named("tick")))
		must(t, s.Every(time.Hour, park, service.ExecFirst(), service.Named("pool"), service.Workers(2)))
		waitParked(t, "tm|tick", "tm|pool[1]", "tm|pool[2]")
		if !slices.Contains(parkedLabels(t, true), "tm|monitor: heartbeat") {
			t.Errorf("no heartbeat monitor labelled: %v", parkedLabels(t, true))
		}
		must(t, s.Stop(ctx))
		waitParked(t)
	})
	t.Run("concurrent", func(t *testing.T) {
		// Go from many goroutines at once on a fresh service, whose label
		// set and first task are made by whichever comes first, while the
		// service is renamed: each task is labelled with its own name and
		// one of the service's names.
		ctx := bg(t)
		for round := range 5 {
			s := newTasker("c")
			must(t, service.Start(ctx, s))
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Go(func() {
					_ = s.Go(fmt.Sprintf("g%d", g), s.task(""))
				})
			}
			wg.Go(func() { s.Configure(service.Config{Name: "d", Logger: &quiet}) })
			wg.Wait()
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := parkedLabels(t, false)
				ok := len(got) == 8
				for _, l := range got {
					svc, task, _ := strings.Cut(l, "|")
					ok = ok && (svc == "c" || svc == "d") && strings.HasPrefix(task, "g")
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: %v", round, got)
				}
				time.Sleep(2 * time.Millisecond)
			}
			must(t, s.Stop(ctx))
			waitParked(t)
		}
	})
}
