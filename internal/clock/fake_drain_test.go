package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFakeBlockUntilAtMost(t *testing.T) {
	tests := []struct {
		name  string
		armed int
		stop  int // stopped by another goroutine while the test waits
		n     int
		want  error
	}{
		{"already at most", 1, 0, 1, nil},
		{"none armed", 0, 0, 0, nil},
		{"after stops", 3, 2, 1, nil},
		{"never", 2, 0, 1, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch)
			var timers []Timer
			for range tt.armed {
				timers = append(timers, f.NewTimer(time.Second))
			}
			go func() {
				for _, tm := range timers[:tt.stop] {
					tm.Stop()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if tt.want == nil {
				ctx = context.Background()
			}
			if err := f.BlockUntilAtMost(ctx, tt.n); !errors.Is(err, tt.want) {
				t.Fatalf("BlockUntilAtMost: %v, want %v", err, tt.want)
			}
			if tt.want == nil && f.Pending() > tt.n {
				t.Fatalf("%d pending, want at most %d", f.Pending(), tt.n)
			}
		})
	}
}
