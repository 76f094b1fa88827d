// Command consumer is a queue consumer with per-task hang detection: the
// recipe for a Kafka-style worker. A producer task fills a queue; the
// consume task handles one message at a time under a watchdog
// (service.Watch), declaring its waits on the empty queue with Idle so they
// never look like a hang. Now and then a handler hangs: the watchdog
// crashes the consumer with ErrHung naming the task and what it was doing
// (its diag flag), and the supervisor restarts it. The message being
// handled is lost here; a real consumer commits an offset only after
// handling, so the restarted one reads it again.
//
//	go run ./examples/consumer                 # stops by itself after 3 seconds
//	go run ./examples/consumer -loglevel=debug # also the routine lifecycle lines
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// Consumer takes messages from a queue and handles them. A handler that
// hangs for longer than the watchdog's deadline crashes it.
type Consumer struct {
	service.Base
	queue chan int
}

var _ service.OnStarter = (*Consumer)(nil)

// OnStart starts the consume task, which watches itself (service.Watch).
func (c *Consumer) OnStart(context.Context) error {
	return c.Go("consume", c.consume)
}

func (c *Consumer) consume(ctx context.Context) error {
	w, err := service.Watch(ctx, "consume", 300*time.Millisecond)
	if err != nil {
		return err
	}
	defer w.Stop() // a returned task must not look hung
	for {
		w.Idle() // waiting on an empty queue is no hang
		var msg int
		select {
		case msg = <-c.queue:
		case <-ctx.Done():
			return nil
		}
		w.Beat() // from now on, 300ms to beat again
		if err := c.handle(ctx, msg); err != nil {
			return err
		}
	}
}

// handle handles one message; every seventh one hangs until the service
// stops (a stuck network call that honours its ctx, at least).
func (c *Consumer) handle(ctx context.Context, msg int) error {
	// The flag is named in the crash: "... while: handling".
	return c.Diag().Transition("handling", func() error { return c.wait(ctx, msg) })
}

func (c *Consumer) wait(ctx context.Context, msg int) error {
	d := 20 * time.Millisecond
	if msg%7 == 0 {
		d = time.Hour
	}
	select {
	case <-time.After(d):
		c.Log().Info().Int("msg", msg).Msg("handled")
		return nil
	case <-ctx.Done():
		return nil
	}
}

// Producer puts a message on the queue every 100ms.
type Producer struct {
	service.Base
	queue chan int
	n     int
}

// OnStart queues a message every 100ms, dropping it when the queue is
// full.
func (p *Producer) OnStart(context.Context) error {
	return p.Every(100*time.Millisecond, func(ctx context.Context) error {
		p.n++
		select {
		case p.queue <- p.n:
		default: // the consumer is behind: drop it (a real producer would block or spill)
		}
		return nil
	})
}

func main() {
	loglevel := flag.String("loglevel", "info", "lowest level logged: trace, debug, info, warn, error")
	logfile := flag.String("logfile", "", "append the log to this file as JSON lines (default: stderr)")
	flag.Parse()

	queue := make(chan int, 16)
	sup := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "pipeline"},
		MaxRestarts: 10,
		Window:      5 * time.Second,
	})
	producer := &Producer{queue: queue}
	producer.Configure(service.Config{Name: "producer"})
	consumer := &Consumer{queue: queue}
	consumer.Configure(service.Config{Name: "consumer"})
	ctx := context.Background()
	for _, s := range []service.Service{producer, consumer} {
		if err := sup.Add(ctx, s); err != nil {
			fmt.Fprintln(os.Stderr, "consumer:", err)
			os.Exit(mode.ExitBadConfig)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	w := &mode.Worker{Service: sup, LogLevel: *loglevel, LogFile: *logfile}
	err := w.Run(ctx)
	fmt.Printf("consumer restarts=%d (each one a hang the watchdog caught)\n", consumer.RestartCount())
	if err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
	}
	os.Exit(mode.ExitCode(err))
}
