package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

// watchOp is one step of a Watch scenario.
type watchOp struct {
	op   string // advance, beat, idle, stop, heartbeat, running, hung
	name string // the watchdog (hung: the task the crash must name)
	d    time.Duration
}

func TestWatch(t *testing.T) {
	const dl = 5 * time.Second
	tests := []struct {
		name    string
		watches []string
		cfg     service.Config
		steps   []watchOp
	}{
		{"a hung task among healthy ones is named", []string{"a", "b", "hung"}, service.Config{}, []watchOp{
			{op: "advance", d: 4 * time.Second}, {op: "beat", name: "a"}, {op: "beat", name: "b"},
			{op: "advance", d: time.Second}, {op: "hung", name: "hung"},
		}},
		{"the service's heartbeat hides no hung task", []string{"loop"}, service.Config{HeartbeatDeadline: dl}, []watchOp{
			{op: "advance", d: 4 * time.Second}, {op: "heartbeat"},
			{op: "advance", d: time.Second}, {op: "hung", name: "loop"},
		}},
		{"beats in time keep it alive", []string{"a"}, service.Config{}, []watchOp{
			{op: "advance", d: 4 * time.Second}, {op: "beat", name: "a"},
			{op: "advance", d: 4 * time.Second}, {op: "beat", name: "a"},
			{op: "advance", d: 4 * time.Second}, {op: "running"},
			{op: "advance", d: time.Second}, {op: "hung", name: "a"},
		}},
		{"an idle task is not hung", []string{"consume"}, service.Config{}, []watchOp{
			{op: "idle", name: "consume"},
			{op: "advance", d: dl}, {op: "advance", d: dl}, {op: "advance", d: 10 * dl}, {op: "running"},
			{op: "beat", name: "consume"}, {op: "advance", d: 4 * time.Second}, {op: "running"},
			{op: "advance", d: time.Second}, {op: "hung", name: "consume"},
		}},
		{"a beat after the deadline comes too late", []string{"a"}, service.Config{}, []watchOp{
			{op: "advance", d: dl}, {op: "hung", name: "a"}, {op: "beat", name: "a"}, {op: "idle", name: "a"}, {op: "stop", name: "a"},
		}},
		{"a stopped watchdog never fires", []string{"a", "b"}, service.Config{}, []watchOp{
			{op: "stop", name: "a"}, {op: "stop", name: "a"}, {op: "advance", d: 4 * time.Second}, {op: "beat", name: "b"},
			{op: "advance", d: 4 * time.Second}, {op: "running"},
			{op: "advance", d: time.Second}, {op: "hung", name: "b"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := clock.NewFake(epoch)
			got := make(chan *service.Watchdog, len(tt.watches))
			s, _ := startTimed(t, fake, tt.cfg, func(_ context.Context, s *timed) error {
				for _, name := range tt.watches {
					if err := s.Go(name, func(ctx context.Context) error {
						w, err := service.Watch(ctx, name, dl)
						if err != nil {
							return err
						}
						defer w.Stop()
						got <- w
						<-ctx.Done()
						return nil
					}); err != nil {
						return err
					}
				}
				return nil
			})
			s.Diag().Set("committing")
			ws := map[string]*service.Watchdog{}
			for range tt.watches {
				w := <-got
				ws[w.Name()] = w
			}
			live := len(tt.watches)
			if tt.cfg.HeartbeatDeadline > 0 {
				live++
			}
			crashed := false
			settle := func() { // the watch loops have looked at the time
				if !crashed {
					armed(t, fake, live)
				}
			}
			for i, st := range tt.steps {
				switch st.op {
				case "advance":
					settle()
					fake.Advance(st.d)
				case "beat":
					settle()
					ws[st.name].Beat()
				case "idle":
					settle()
					ws[st.name].Idle()
				case "heartbeat":
					settle()
					s.Heartbeat()
				case "stop":
					if !crashed && ws[st.name] != nil {
						settle()
						ws[st.name].Stop()
						delete(ws, st.name)
						live--
						// Its loop has stopped its timer: settle waits
						// for the live ones only.
						if err := fake.BlockUntilAtMost(timeCtx(t), live); err != nil {
							t.Fatal(err)
						}
					}
					ws[st.name].Stop() // again, or on nil: nothing
				case "running":
					settle()
					if state := s.State(); state != service.Running {
						t.Fatalf("step %d: state %s, want running (reason %v)", i, state, s.CrashReason())
					}
				case "hung":
					err := s.WaitUntilStopped(timeCtx(t))
					want := `task "` + st.name + `": no heartbeat for 5s while: committing`
					if !errors.Is(err, service.ErrHung) || !strings.Contains(err.Error(), want) {
						t.Fatalf("step %d: crash reason %v, want ErrHung saying %q", i, err, want)
					}
					crashed = true
				}
			}
			if crashed {
				if st := s.State(); st != service.Crashed {
					t.Fatalf("state %s after the crash and late calls", st)
				}
			}
		})
	}
}

func TestWatchRefused(t *testing.T) {
	fake := clock.NewFake(epoch)
	taskCtx := make(chan context.Context, 1)
	s, _ := startTimed(t, fake, service.Config{}, func(_ context.Context, s *timed) error {
		return s.Go("t", func(ctx context.Context) error {
			taskCtx <- ctx
			<-ctx.Done()
			return nil
		})
	})
	ctx := <-taskCtx
	pending := fake.Pending()
	tests := []struct {
		name     string
		ctx      context.Context
		wname    string
		deadline time.Duration
		want     error
	}{
		{"empty name", ctx, "", time.Second, service.ErrBadArgument},
		{"zero deadline", ctx, "x", 0, service.ErrBadArgument},
		{"negative deadline", ctx, "x", -time.Second, service.ErrBadArgument},
		{"no service's ctx", context.Background(), "x", time.Second, service.ErrNotStarted},
		{"nil ctx", nil, "x", time.Second, service.ErrNotStarted},
	}
	check := func(name string, c context.Context, wname string, d time.Duration, want error) {
		t.Helper()
		w, err := service.Watch(c, wname, d)
		if !errors.Is(err, want) || w != nil {
			t.Errorf("%s: Watch = %v, %v; want nil, %v", name, w, err, want)
		}
		w.Beat() // a nil watchdog does nothing
		w.Idle()
		w.Stop()
	}
	for _, tt := range tests {
		check(tt.name, tt.ctx, tt.wname, tt.deadline, tt.want)
	}
	if p := fake.Pending(); p != pending {
		t.Fatalf("%d timers armed by refused calls", p-pending)
	}
	must(t, s.Stop(timeCtx(t)))
	check("stopped run", ctx, "x", time.Second, service.ErrStopping)
}
