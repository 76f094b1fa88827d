package logline_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/gomode/mode/internal/logline"
)

// Lines takes a joined error apart, one line per error, each keeping the
// text of the wraps around it.
func ExampleLines() {
	stop := errors.Join(errors.New("db: timeout"), errors.New("web: closed"))
	for _, line := range logline.Lines(fmt.Errorf("app: stop: %w", stop)) {
		fmt.Println(line)
	}
	fmt.Println(logline.Round(1234567*time.Nanosecond), logline.Round(1234*time.Nanosecond))
	// Output:
	// app: stop: db: timeout
	// app: stop: web: closed
	// 1ms 1µs
}
