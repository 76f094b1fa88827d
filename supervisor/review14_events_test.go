package supervisor_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// transcript records, in order, a supervisor's exit and restart events
// and log lines as short texts.
type transcript struct {
	mu    sync.Mutex
	lines []string
}

func (tr *transcript) add(s string) {
	tr.mu.Lock()
	tr.lines = append(tr.lines, s)
	tr.mu.Unlock()
}

func (tr *transcript) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.lines)
}

// waitLines waits (10 s at most) until n lines are in.
func (tr *transcript) waitLines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(tr.get()) < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

func (tr *transcript) event(e supervisor.Event) {
	switch e.Kind {
	case supervisor.ChildCrashed, supervisor.ChildExited, supervisor.ChildRestarted:
	default:
		return
	}
	reason := "-"
	if e.Reason != nil {
		reason = e.Reason.Error()
	}
	tr.add(fmt.Sprintf("event %v sup=%s child=%s label=%s reason=%s n=%d", e.Kind, e.Supervisor, e.Child, e.Label, reason, e.RestartCount))
}

// Write takes the supervisor's JSON log lines (one per Write).
func (tr *transcript) Write(p []byte) (int, error) {
	var m map[string]any
	if err := json.Unmarshal(p, &m); err != nil {
		tr.add("bad log line " + string(p))
		return len(p), nil
	}
	switch m["message"] {
	case "Child crashed", "Child exited", "Restarted child":
		delete(m, "delay") // 0 without backoff; present or not, as before
		tr.add(fmt.Sprintf("log %v %q child=%v restarts=%v error=%v service=%v", m["level"], m["message"], m["child"], m["restarts"], m["error"], m["service"]))
	}
	return len(p), nil
}

type evObserver struct{ tr *transcript }

func (evObserver) StateChanged(service.Service, service.State, service.State) {}
func (o evObserver) SupervisorEvent(_ *supervisor.Supervisor, e supervisor.Event) {
	o.tr.event(e)
}

// waitCounts waits until the children's restart counts are want, each
// running.
func waitCounts(t *testing.T, sup *supervisor.Supervisor, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		var got []string
		for _, ci := range sup.Children() {
			got = append(got, fmt.Sprintf("%s=%d/%v", ci.ID, ci.RestartCount, ci.Service.State()))
			if ci.RestartCount != want[ci.ID] || ci.Service.State() != service.Running {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart counts %v, want %v", got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReview14EventsAndLogs: a crash, a restart and a normal exit are
// reported with their fields (Child, Label, Reason, RestartCount; the log
// line's child, restarts, error) to OnEvent, to an EventObserver and to a
// logger at Debug or Info, for plain and Replacement children, one-for-one
// and one-for-all; none of it when nobody listens, and the restarts
// happen all the same.
func TestReview14EventsAndLogs(t *testing.T) {
	const (
		crashA    = "event child crashed sup=sup child=a label=worker(a) reason=a: boom n=%d"
		exitB     = "event child exited sup=sup child=b label=worker(b) reason=- n=%d"
		restarted = "event child restarted sup=sup child=%s label=worker(%s) reason=- n=%d"
		logCrash  = `log debug "Child crashed" child=a restarts=<nil> error=a: boom service=sup`
		logExit   = `log info "Child exited" child=b restarts=<nil> error=<nil> service=sup`
		logRest   = `log info "Restarted child" child=%s restarts=%d error=<nil> service=sup`
	)
	rest := func(id string, n int) string { return fmt.Sprintf(restarted, id, id, n) }
	lrest := func(id string, n int) string { return fmt.Sprintf(logRest, id, n) }
	type scenario struct {
		strategy strategy.Strategy
		counts   [2]map[string]int // after the crash of a, after b's exit
		events   []string
		logs     []string // at Debug; at Info, without the debug lines
	}
	scenarios := map[string]scenario{
		"one-for-one": {
			strategy: strategy.OneForOne,
			counts:   [2]map[string]int{{"a": 1, "b": 0}, {"a": 1, "b": 1}},
			events:   []string{fmt.Sprintf(crashA, 0), rest("a", 1), fmt.Sprintf(exitB, 0), rest("b", 1)},
			logs:     []string{logCrash, lrest("a", 1), logExit, lrest("b", 1)},
		},
		"one-for-all": {
			strategy: strategy.OneForAll,
			counts:   [2]map[string]int{{"a": 1, "b": 1}, {"a": 2, "b": 2}},
			events:   []string{fmt.Sprintf(crashA, 0), rest("a", 1), rest("b", 1), fmt.Sprintf(exitB, 1), rest("a", 2), rest("b", 2)},
			logs:     []string{logCrash, lrest("a", 1), lrest("b", 1), logExit, lrest("a", 2), lrest("b", 2)},
		},
	}
	for sname, sc := range scenarios {
		for _, repl := range []bool{false, true} {
			for _, mode := range []string{"OnEvent", "observer", "debug", "info", "ctx-debug", "none"} {
				name := fmt.Sprintf("%s/replacement=%v/%s", sname, repl, mode)
				t.Run(name, func(t *testing.T) {
					ctx := bg(t)
					tr := &transcript{}
					lvl := zerolog.WarnLevel
					switch mode {
					case "debug", "ctx-debug":
						lvl = zerolog.DebugLevel
					case "info":
						lvl = zerolog.InfoLevel
					}
					lg := zerolog.New(tr).Level(lvl)
					spec := supervisor.Spec{Strategy: sc.strategy, MaxRestarts: 100, Service: service.Config{Name: "sup", Logger: &lg}}
					if mode == "OnEvent" {
						spec.OnEvent = tr.event
					}
					startCtx := ctx
					if mode == "ctx-debug" { // no Logger: the start ctx's
						spec.Service.Logger = nil
						startCtx = service.WithLogger(ctx, &lg)
					}
					sup := supervisor.New(spec)
					if mode == "observer" {
						detach, err := service.Observe(sup, evObserver{tr})
						must(t, err)
						defer detach()
					}
					for _, id := range []string{"a", "b"} {
						cs := supervisor.ChildSpec{ID: id}
						if repl {
							cs.Replacement = func() service.Service { return newWorker(id) }
						}
						must(t, sup.Add(ctx, newWorker(id), cs))
					}
					must(t, service.Start(startCtx, sup))
					defer func() { must(t, sup.Stop(ctx)) }()

					sup.Child("a").(*worker).Crash(fmt.Errorf("a: %w", errBoom))
					waitCounts(t, sup, sc.counts[0])
					must(t, sup.Child("b").Stop(ctx)) // b's own Stop: a normal exit
					waitCounts(t, sup, sc.counts[1])

					var want []string
					switch mode {
					case "OnEvent", "observer":
						want = sc.events
					case "debug", "ctx-debug":
						want = sc.logs
					case "info":
						for _, l := range sc.logs {
							if !strings.HasPrefix(l, "log debug") {
								want = append(want, l)
							}
						}
					}
					// A restart's count is visible before its event and log
					// line are made (restarted: the count, then the line,
					// then the event): wait for the lines too.
					tr.waitLines(t, len(want))
					if got := tr.get(); !slices.Equal(got, want) {
						t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
					}
				})
			}
		}
	}
}
