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

// Run is the Worker for a program that embeds it: it returns an error, and
// ExitCode says which exit code that error stands for. A second Run of the
// same Worker, and a Worker without a Service, are bad configuration.
func ExampleExitCode() {
	l := zerolog.Nop()
	job := service.Func("serve", func(ctx context.Context) error { <-ctx.Done(); return nil })
	job.Configure(service.Config{Logger: &l})
	ctx, cancel := context.WithCancel(context.Background())
	w := &mode.Worker{Service: job, Logger: &l, Ready: cancel} // stop as soon as it runs
	err := w.Run(ctx)
	fmt.Println("first run:", err, mode.ExitCode(err))
	err = w.Run(context.Background())
	fmt.Println("second run:", err, mode.ExitCode(err) == mode.ExitBadConfig)
	err = (&mode.Worker{}).Run(context.Background())
	fmt.Println("no service:", errors.Is(err, mode.ErrBadConfig), mode.ExitCode(err))
	// Output:
	// first run: <nil> 0
	// second run: mode: bad Worker configuration: Worker already ran true
	// no service: true 78
}
