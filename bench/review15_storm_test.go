package bench

import (
	"testing"
	"time"
)

// TestReview15Median: the crash storms' median-us is the median of the
// storms' times, whatever their order, for an odd and an even count.
func TestReview15Median(t *testing.T) {
	cases := []struct {
		name string
		took []time.Duration
		want time.Duration
	}{
		{"one", []time.Duration{7}, 7},
		{"two", []time.Duration{10, 2}, 6},
		{"three unsorted", []time.Duration{9, 1, 5}, 5},
		{"four unsorted", []time.Duration{40, 10, 30, 20}, 25},
		{"even, an outlier", []time.Duration{1, 2, 3, 1000}, 2},
		{"odd, an outlier", []time.Duration{1000, 3, 2, 1, 4}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(append([]time.Duration(nil), tc.took...)); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.took, got, tc.want)
			}
		})
	}
}

// TestReview15StormClockNoAlloc: timing a storm allocates nothing inside
// the timed loop (the slice is made for b.N storms beforehand).
func TestReview15StormClockNoAlloc(t *testing.T) {
	var n int
	res := testing.Benchmark(func(b *testing.B) {
		clk := newStormClock(b)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			clk.begin()
			clk.end()
		}
		b.StopTimer()
		n = len(clk.took)
		if n != b.N {
			b.Fatalf("%d storms timed, want %d", n, b.N)
		}
	})
	if a := res.AllocsPerOp(); a != 0 {
		t.Errorf("a storm's clock allocates %d times per storm", a)
	}
}
