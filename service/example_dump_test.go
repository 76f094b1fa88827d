package service_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// queueConsumer consumes a queue in a task; it adds the queue's depth to
// the dump.
type queueConsumer struct {
	service.Base
	queue chan string
}

func (c *queueConsumer) OnStart(context.Context) error {
	if err := c.Go("consume", c.consume); err != nil {
		return err
	}
	return c.Every(time.Minute, func(context.Context) error { return nil }, service.Named("commit"))
}

func (c *queueConsumer) consume(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// DumpInfo adds the queue's depth under the service's line in Dump.
func (c *queueConsumer) DumpInfo() []string {
	return []string{fmt.Sprintf("queue depth %d", len(c.queue))}
}

var (
	_ service.OnStarter = (*queueConsumer)(nil)
	_ service.Dumper    = (*queueConsumer)(nil)
)

// The dump of a running service, as a Worker writes it on SIGUSR1: its
// tasks, its timers with their counters, and its own lines (Dumper).
func ExampleDump() {
	nop := zerolog.Nop()
	c := &queueConsumer{queue: make(chan string, 10)}
	c.Configure(service.Config{Name: "orders", Logger: &nop})
	ctx := context.Background()
	if err := service.Start(ctx, c); err != nil {
		fmt.Println(err)
		return
	}
	c.queue <- "order 1"
	c.Diag().Set("committing")
	fmt.Print(service.Dump(c))
	_ = c.Stop(ctx)
	// Output:
	// queueConsumer(orders) [running] hooks=OnStart flags=committing
	//   tasks (2): commit, consume
	//   timer "commit": runs=0 skips=0 overlaps=0
	//   queue depth 1
}

// A consumer loop with a watchdog of its own: idle while the queue is
// empty, it must beat within the deadline once a message is in hand. Here
// the handling hangs, and the service crashes naming the loop.
func ExampleWatch() {
	nop := zerolog.Nop()
	queue := make(chan string, 1)
	queue <- "order 1"
	handle := func(ctx context.Context, msg string) error {
		<-ctx.Done() // hangs until the service stops or crashes
		return nil
	}
	consumer := service.Func("consumer", func(ctx context.Context) error {
		w, err := service.Watch(ctx, "consume", 20*time.Millisecond)
		if err != nil {
			return err
		}
		defer w.Stop()
		for {
			w.Idle() // an empty queue is not a hang
			var msg string
			select {
			case msg = <-queue:
			case <-ctx.Done():
				return nil
			}
			w.Beat() // a message in hand: 20ms to beat again
			if err := handle(ctx, msg); err != nil {
				return err
			}
		}
	})
	consumer.Configure(service.Config{Logger: &nop})
	ctx := context.Background()
	if err := service.Start(ctx, consumer); err != nil {
		fmt.Println(err)
		return
	}
	err := consumer.WaitUntilStopped(ctx)
	fmt.Println("hung:", errors.Is(err, service.ErrHung))
	fmt.Println("names the loop:", strings.Contains(err.Error(), `task "consume": no heartbeat for`))
	_ = consumer.Stop(ctx)
	// Output:
	// hung: true
	// names the loop: true
}
