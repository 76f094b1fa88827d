package clock_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gomode/mode/internal/clock"
)

// A test drives code that waits on a timer: it waits until the timer is
// armed, then moves the fake time past its deadline.
func ExampleFake() {
	f := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	done := make(chan time.Time)
	go func() { // the code under test
		t := f.NewTimer(5 * time.Second)
		done <- <-t.C()
	}()
	if err := f.BlockUntil(context.Background(), 1); err != nil {
		panic(err)
	}
	f.Advance(time.Minute)
	fmt.Println((<-done).Format(time.TimeOnly), f.Now().Format(time.TimeOnly))
	// Output: 00:00:05 00:01:00
}
