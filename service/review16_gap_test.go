package service_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// gapWriter runs at, on the goroutine that logs it, when a line
// containing msg is written: the lifecycle lines are user code (a writer)
// that runs between a restart's stop half and its start half.
type gapWriter struct {
	msg  string
	at   func()
	mu   sync.Mutex
	all  strings.Builder
	once bool
}

func (w *gapWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.all.Write(p)
	fire := !w.once && strings.Contains(string(p), `"message":"`+w.msg+`"`)
	if fire {
		w.once = true
	}
	w.mu.Unlock()
	if fire {
		w.at()
	}
	return len(p), nil
}

func (w *gapWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

type r16Leaf struct{ service.Base }

// TestReview16QuietRestartGap: the package doc says a stop
// ends "Shutdown, then the "Stopped" line", and Crash on a service that is
// not running (Shutdown) "is logged and ignored". A quiet restart (no
// observer, no OnRestart, no child) leaves the state Stopping after its
// stop half (stopPlan.keep), so code that runs on the "Stopped" line of
// that half sees Stopping, and a Crash made then is swallowed without a
// word: markCrashed takes it for a crash while stopping and adds it to the
// late errors of a run whose stop has already collected them.
func TestReview16QuietRestartGap(t *testing.T) {
	cases := []struct {
		name  string
		at    func(s *r16Leaf) any // what it returns is checked by check
		check func(t *testing.T, got any, log string)
	}{
		{"State on the Stopped line", func(s *r16Leaf) any { return s.State() },
			func(t *testing.T, got any, _ string) {
				if got != service.Shutdown {
					t.Errorf("State() on the stop half's \"Stopped\" line: %v, want Shutdown", got)
				}
			}},
		{"Crash between the halves is logged", func(s *r16Leaf) any { s.Crash(errBoom); return nil },
			func(t *testing.T, _ any, log string) {
				if !strings.Contains(log, "Crash ignored") {
					t.Errorf("Crash between a restart's halves: no \"Crash ignored\" line; log:\n%s", log)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			s := &r16Leaf{}
			var got any
			w := &gapWriter{msg: "Stopped"}
			w.at = func() { got = tc.at(s) }
			lg := zerolog.New(w).Level(zerolog.DebugLevel)
			s.Configure(service.Config{Name: "leaf", Logger: &lg})
			must(t, service.Start(ctx, s))
			must(t, s.Restart(ctx))
			if st := s.State(); st != service.Running {
				t.Fatalf("state after Restart: %v", st)
			}
			must(t, s.Stop(ctx))
			tc.check(t, got, w.String())
		})
	}
}
