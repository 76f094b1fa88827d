package observe_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// stormSize is how many children crash at once in a storm op.
const stormSize = 20

// stormTree is a started supervisor of 1,000 children that a benchmark
// crashes in storms.
type stormTree struct {
	sup       *supervisor.Supervisor
	kids      []*service.FuncService
	restarted chan struct{}
	next      int
}

// newStormTree starts the tree; it is stopped when b ends. Its intensity
// never escalates (a billion restarts) within a 10 ms window, so that the
// window's ring stays small: a minute's window holds every restart of the
// minute, tens of millions under a storm.
func newStormTree(b *testing.B) *stormTree {
	st := &stormTree{restarted: make(chan struct{}, stormSize)}
	st.sup = supervisor.New(supervisor.Spec{Service: named("bench"), MaxRestarts: 1 << 30, Window: 10 * time.Millisecond,
		OnEvent: func(e supervisor.Event) {
			if e.Kind == supervisor.ChildRestarted {
				st.restarted <- struct{}{}
			}
		}})
	st.kids = make([]*service.FuncService, 1000)
	for i := range st.kids {
		st.kids[i] = waitFunc("x" + strconv.Itoa(i))
		if err := st.sup.Add(context.Background(), st.kids[i]); err != nil {
			b.Fatal(err)
		}
	}
	if err := service.Start(context.Background(), st.sup); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.sup.Stop(context.Background()) })
	return st
}

var errStorm = errors.New("storm")

// storms runs n storm ops: each crashes stormSize children at once and
// waits for their restarts.
func (st *stormTree) storms(n int) {
	for range n {
		for range stormSize {
			st.kids[st.next%len(st.kids)].Crash(errStorm)
			st.next++
		}
		for range stormSize {
			<-st.restarted
		}
	}
}

// BenchmarkRestartObserved measures a supervisor's restarts under a crash
// storm: each op crashes 20 of its 1,000 children at once and waits for
// their restarts. Unobserved; with an observer that does nothing (the
// core's cost); with the handler attached and no page open; with the
// page's event stream open and read; and, as a control, with an HTTP
// stream open and no observer (idle-stream). Each variant in a process of
// its own is what storm-rounds.sh compares; BenchmarkStormRounds compares
// them within one process.
func BenchmarkRestartObserved(b *testing.B) {
	for _, mode := range []string{"unobserved", "noop-observer", "attached", "page-open", "idle-stream"} {
		b.Run(mode, func(b *testing.B) {
			st := newStormTree(b)
			if mode != "unobserved" {
				defer observeAs(b, mode, st.sup)()
			}
			b.ResetTimer()
			st.storms(b.N)
			b.StopTimer()
		})
	}
}

// BenchmarkStormRounds compares restarts under a crash storm observed and
// unobserved, in one process and on one tree, so that what differs
// between processes (the heap's layout, where the scheduler puts the
// goroutines) does not enter the ratios. Each of its b.N rounds times a
// block of storm ops in each variant, in an order that turns from round to
// round; before each block, untimed ops let the tree (and the page: its
// first look at the tree) settle. For each observed variant it reports
// the median of its ratios to the unobserved block of the same round
// ("<variant>-x"), and for page-open their quartiles too.
//
// The variants: unobserved; noop-observer, an observer that does nothing
// (the core's dispatch); attached, a Handler attached, no page open;
// page-open, a Handler with its event stream open and read to the end.
// Each block attaches a new Handler and closes it after.
//
//	go test -run '^$' -bench StormRounds -benchtime 40x
func BenchmarkStormRounds(b *testing.B) {
	const block, settle = 4000, 1000 // storm ops timed per block (about a quarter of a second), and untimed before it
	variants := []string{"unobserved", "noop-observer", "attached", "page-open", "idle-stream"}
	st := newStormTree(b)
	timed := func(mode string) time.Duration {
		if mode != "unobserved" {
			defer observeAs(b, mode, st.sup)()
		}
		st.storms(settle)
		t0 := time.Now()
		st.storms(block)
		return time.Since(t0)
	}
	ratios := make(map[string][]float64)
	b.ResetTimer()
	for r := range b.N {
		took := make(map[string]time.Duration)
		for k := range variants {
			v := variants[(r+k)%len(variants)]
			took[v] = timed(v)
		}
		for _, v := range variants[1:] {
			ratios[v] = append(ratios[v], float64(took[v])/float64(took["unobserved"]))
		}
	}
	b.StopTimer()
	q := func(rs []float64, f float64) float64 { return rs[int(f*float64(len(rs)-1)+0.5)] }
	// The page's observing alone: page-open to idle-stream, each round
	// (before the sorts below, which lose the rounds).
	var own []float64
	for r := range ratios["page-open"] {
		own = append(own, ratios["page-open"][r]/ratios["idle-stream"][r])
	}
	slices.Sort(own)
	b.ReportMetric(q(own, 0.5), "page-open/idle-stream")
	for _, v := range variants[1:] {
		slices.Sort(ratios[v])
		b.ReportMetric(q(ratios[v], 0.5), v+"-x")
	}
	b.ReportMetric(q(ratios["page-open"], 0.25), "page-open-q1")
	b.ReportMetric(q(ratios["page-open"], 0.75), "page-open-q3")
	b.ReportMetric(0, "ns/op") // an op is a round of blocks: its time means nothing
}

// observeAs observes sup as mode says and returns what ends it:
// noop-observer, an observer that does nothing (the core's dispatch);
// attached, a Handler attached, no page open; page-open, a Handler with its
// event stream open and read to the end; idle-stream, the control, an HTTP
// server with an open stream that sends nothing and no observer (what a
// live connection costs the process's scheduler, whoever serves it).
func observeAs(b *testing.B, mode string, sup *supervisor.Supervisor) (end func()) {
	var h http.Handler
	switch mode {
	case "noop-observer":
		detach, err := service.Observe(sup, noop{})
		if err != nil {
			b.Fatal(err)
		}
		return detach
	case "idle-stream":
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		})
	default:
		h = &observe.Handler{Root: sup}
	}
	srv := httptest.NewServer(h)
	closeHandler := func() {
		if oh, ok := h.(*observe.Handler); ok {
			_ = oh.Close()
		}
		srv.Close()
	}
	if mode == "attached" {
		fetchTree(b, srv.URL)
		return closeHandler
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := openStream(b, ctx, srv.URL)
	done := make(chan struct{})
	go func() { defer close(done); _, _ = io.Copy(io.Discard, s.body) }()
	return func() { cancel(); <-done; closeHandler() }
}

// noop is an observer that does nothing: the core's cost of observing.
type noop struct{}

func (noop) StateChanged(service.Service, service.State, service.State) {}
func (noop) SupervisorEvent(*supervisor.Supervisor, supervisor.Event)   {}
