package bench

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// latenessSpan is how long each variant of BenchmarkEveryLateness ticks.
// -short cuts it so a quick run stays quick.
func latenessSpan() time.Duration {
	if testing.Short() {
		return 500 * time.Millisecond
	}
	return 5 * time.Second
}

const latenessInterval = 10 * time.Millisecond

// BenchmarkEveryLateness measures how late a 10ms timer fires on the real
// clock: mode's Every (fixed-rate slots, drift counters, a diag flag per
// run) beside a bare time.Ticker loop, in the same run. Lateness is the
// time from a slot (start + k·interval) to the call; it reports the mean
// and the 99th percentile in µs. Each iteration ticks for 5s (use
// -benchtime 1x).
func BenchmarkEveryLateness(b *testing.B) {
	b.Run("mode-Every", func(b *testing.B) {
		for range b.N {
			report(b, modeLateness(b))
		}
	})
	b.Run("time.Ticker", func(b *testing.B) {
		for range b.N {
			report(b, tickerLateness())
		}
	})
}

// modeLateness runs a service whose Every records each call's lateness.
func modeLateness(b *testing.B) []time.Duration {
	s := &idle{}
	s.Configure(quiet("timer"))
	ctx := context.Background()
	if err := service.Start(ctx, s); err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	var late []time.Duration
	done := make(chan struct{})
	n := int(latenessSpan() / latenessInterval)
	start := time.Now()
	err := s.Every(latenessInterval, func(context.Context) error {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		late = append(late, sinceSlot(start, now))
		if len(late) == n {
			close(done)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	<-done
	if err := s.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, st := range s.Timers() {
		b.ReportMetric(float64(st.Skipped), "skipped/run")
	}
	return late[:n]
}

// tickerLateness is the floor: a goroutine ranging over a time.Ticker.
func tickerLateness() []time.Duration {
	n := int(latenessSpan() / latenessInterval)
	late := make([]time.Duration, 0, n)
	start := time.Now()
	t := time.NewTicker(latenessInterval)
	defer t.Stop()
	for range t.C {
		// Like the mode variant, read the clock once the loop runs (the
		// channel's value is the time the timer fired, before the wakeup).
		late = append(late, sinceSlot(start, time.Now()))
		if len(late) == n {
			break
		}
	}
	return late
}

// sinceSlot is how long after the latest slot start + k·interval now is.
func sinceSlot(start, now time.Time) time.Duration {
	return now.Sub(start) % latenessInterval
}

func report(b *testing.B, late []time.Duration) {
	slices.Sort(late)
	var sum time.Duration
	for _, d := range late {
		sum += d
	}
	b.ReportMetric(float64(sum.Microseconds())/float64(len(late)), "mean-late-µs")
	b.ReportMetric(float64(late[len(late)*99/100].Microseconds()), "p99-late-µs")
	b.ReportMetric(float64(len(late)), "ticks")
}
