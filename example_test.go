package mode_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// A Worker runs a tree until it ends on its own, a stop signal arrives or
// ctx is done, and turns the outcome into an exit code: 0 for a normal end,
// 1 for a crash no supervisor handled.
func ExampleWorker() {
	l := zerolog.Nop()
	for _, fn := range []func(context.Context) error{
		func(context.Context) error { return nil },
		func(context.Context) error { return errors.New("no database") },
	} {
		job := service.Func("migrate", fn)
		job.Configure(service.Config{Logger: &l})
		w := &mode.Worker{Service: job, Logger: &l}
		fmt.Println("exit code:", w.Execute())
	}
	// Output:
	// exit code: 0
	// exit code: 1
}
