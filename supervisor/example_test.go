package supervisor_test

import (
	"context"
	"fmt"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// A supervisor restarts a child that crashes, and reports what it does
// through OnEvent.
func Example() {
	l := zerolog.Nop()
	up := make(chan struct{})
	sup := supervisor.New(supervisor.Spec{
		Service:  service.Config{Name: "root", Logger: &l},
		Strategy: strategy.OneForOne,
		OnEvent: func(e supervisor.Event) {
			fmt.Printf("%s %s (restarts: %d)\n", e.Kind, e.Child, e.RestartCount)
			if e.Kind == supervisor.ChildRestarted && e.RestartCount == 2 {
				close(up) // the third run is up
			}
		},
	})
	attempt := 0 // runs of the Func are sequential
	flaky := service.Func("flaky", func(ctx context.Context) error {
		attempt++
		if attempt <= 2 {
			return fmt.Errorf("attempt %d failed", attempt)
		}
		<-ctx.Done()
		return ctx.Err()
	})
	flaky.Configure(service.Config{Logger: &l})
	_ = sup.Add(context.Background(), flaky)

	ctx := context.Background()
	if err := service.Start(ctx, sup); err != nil {
		fmt.Println(err)
		return
	}
	<-up
	fmt.Println("flaky is", flaky.State(), "after", flaky.RestartCount(), "restarts")
	_ = sup.Stop(ctx)
	fmt.Println("root is", sup.State())
	// Output:
	// child crashed flaky (restarts: 0)
	// child restarted flaky (restarts: 1)
	// child crashed flaky (restarts: 1)
	// child restarted flaky (restarts: 2)
	// flaky is running after 2 restarts
	// root is shutdown
}
