package observe_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
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
// its own is what storm-rounds.sh compares; BenchmarkStormPaired compares
// them within one process.
func BenchmarkRestartObserved(b *testing.B) {
	for _, mode := range []string{"unobserved", "noop-observer", "attached", "page-open", "idle-stream"} {
		b.Run(mode, func(b *testing.B) {
			st := newStormTree(b)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			switch mode {
			case "noop-observer":
				detach, err := service.Observe(st.sup, noop{})
				if err != nil {
					b.Fatal(err)
				}
				defer detach()
			case "idle-stream":
				// The control: an HTTP server with an open stream that
				// sends nothing, no observer: what a live connection costs
				// the process's scheduler (netpoll), whoever serves it.
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusOK)
					w.(http.Flusher).Flush()
					<-r.Context().Done()
				}))
				defer func() { cancel(); srv.Close() }() // the stream ends before the server closes
				req, err := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
				if err != nil {
					b.Fatal(err)
				}
				r, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				wg.Add(1)
				go func() { defer wg.Done(); defer r.Body.Close(); _, _ = io.Copy(io.Discard, r.Body) }()
			case "attached", "page-open":
				h := &observe.Handler{Root: st.sup}
				srv := httptest.NewServer(h)
				defer srv.Close()
				defer h.Close()
				if mode == "attached" {
					fetchTree(b, srv.URL)
					break
				}
				s := openStream(b, ctx, srv.URL)
				wg.Add(1)
				go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, s.body) }()
			}
			b.ResetTimer()
			st.storms(b.N)
			b.StopTimer()
		})
	}
}

// BenchmarkStormPaired compares restarts under a crash storm with and
// without observing, in one process and on one tree, so that what differs
// between processes (the heap's layout, where the scheduler puts the
// goroutines, the machine's load at that second) does not enter the
// ratio. Each of its b.N pairs times a block of storm ops unobserved and
// a block observed, in an order that turns from pair to pair; before each
// block, untimed ops let the tree (and the page, for page-open: its first
// look at the tree) settle. It reports the median of the pairs' ratios,
// observed to unobserved ("x-unobserved"), and their quartiles.
//
// Observed is: noop-observer, an observer that does nothing (the core's
// dispatch); attached, a Handler attached, no page open; page-open, a
// Handler with its event stream open and read to the end. Each block
// attaches a new Handler and closes it after.
//
//	go test -run '^$' -bench StormPaired -benchtime 60x
func BenchmarkStormPaired(b *testing.B) {
	const block, settle = 4000, 1000 // storm ops timed per block (about a quarter of a second), and untimed before it
	for _, mode := range []string{"noop-observer", "attached", "page-open"} {
		b.Run(mode, func(b *testing.B) {
			st := newStormTree(b)
			timed := func(observed bool) time.Duration {
				if observed {
					defer observeAs(b, mode, st.sup)()
				}
				st.storms(settle)
				t0 := time.Now()
				st.storms(block)
				return time.Since(t0)
			}
			ratios := make([]float64, b.N)
			var totalOn, totalOff time.Duration
			b.ResetTimer()
			for i := range b.N {
				var off, on time.Duration
				if i%2 == 0 {
					off, on = timed(false), timed(true)
				} else {
					on, off = timed(true), timed(false)
				}
				ratios[i] = float64(on) / float64(off)
				totalOn += on
				totalOff += off
			}
			b.StopTimer()
			slices.Sort(ratios)
			q := func(f float64) float64 { return ratios[int(f*float64(len(ratios)-1)+0.5)] }
			b.ReportMetric(q(0.5), "x-unobserved")
			b.ReportMetric(q(0.25), "q1")
			b.ReportMetric(q(0.75), "q3")
			b.ReportMetric(float64(totalOn)/float64(totalOff), "x-total")
			b.ReportMetric(float64(totalOn.Nanoseconds())/float64(b.N*block), "observed-ns/storm")
			b.ReportMetric(0, "ns/op") // an op is a pair of blocks: its time means nothing
		})
	}
}

// observeAs observes sup as mode says (see BenchmarkStormPaired) and
// returns what ends it.
func observeAs(b *testing.B, mode string, sup *supervisor.Supervisor) (end func()) {
	if mode == "noop-observer" {
		detach, err := service.Observe(sup, noop{})
		if err != nil {
			b.Fatal(err)
		}
		return detach
	}
	h := &observe.Handler{Root: sup}
	srv := httptest.NewServer(h)
	if mode == "attached" {
		fetchTree(b, srv.URL)
		return func() { h.Close(); srv.Close() }
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := openStream(b, ctx, srv.URL)
	done := make(chan struct{})
	go func() { defer close(done); _, _ = io.Copy(io.Discard, s.body) }()
	return func() { cancel(); <-done; h.Close(); srv.Close() }
}

// noop is an observer that does nothing: the core's cost of observing.
type noop struct{}

func (noop) StateChanged(service.Service, service.State, service.State) {}
func (noop) SupervisorEvent(*supervisor.Supervisor, supervisor.Event)   {}
