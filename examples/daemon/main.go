// Command daemon is a small supervised daemon: a root supervisor with a
// ticker, a flaky worker that crashes now and then, and an API service
// with a cache below it. The log tells the story: crashes, restarts,
// restart counts.
//
//	go run ./examples/daemon           # stops by itself after 4 seconds
//	go run ./examples/daemon -forever  # runs until SIGINT or SIGTERM (SIGUSR1: dump)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// Ticker logs a line every 500ms, from a timer task owned by its run.
type Ticker struct {
	service.Base
	n int
}

func (t *Ticker) OnStart(context.Context) error {
	return t.Every(500*time.Millisecond, func(context.Context) error {
		t.n++
		t.Log().Info().Int("tick", t.n).Msg("tick")
		return nil
	})
}

// API is a plain service with a child: when the child crashes, the API is
// the unit of restart (it sits directly under the supervisor), so both are
// restarted together.
type API struct{ service.Base }

func (a *API) OnStarted(context.Context) error {
	a.Log().Info().Int("restarts", a.RestartCount()).Msg("API serving")
	return nil
}

func (a *API) OnRestart(context.Context) error {
	a.Log().Info().Msg("API restarting: reloading configuration")
	return nil
}

// Cache is the API's child. Its first run loses its backing store after
// 1.5s and crashes.
type Cache struct{ service.Base }

func (c *Cache) OnStart(context.Context) error {
	if c.RestartCount() > 0 {
		c.Log().Info().Int("restarts", c.RestartCount()).Msg("cache warmed up again")
		return nil
	}
	return c.Go("evict", func(ctx context.Context) error {
		if err := c.Sleep(ctx, 1500*time.Millisecond); err != nil {
			return nil // stopped first
		}
		return errors.New("cache: backing store went away")
	})
}

// flaky crashes at a random moment every second or so; one crash in three
// is a panic, which the runtime turns into a crash with its stack.
func flaky(ctx context.Context) error {
	d := 500*time.Millisecond + rand.N(time.Second)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
	}
	if rand.N(3) == 0 {
		panic("flaky: nil map write (simulated)")
	}
	return fmt.Errorf("flaky: lost connection after %v", d.Round(time.Millisecond))
}

func main() {
	forever := flag.Bool("forever", false, "run until SIGINT or SIGTERM instead of stopping after 4s")
	flag.Parse()

	zerolog.TimeFieldFormat = time.RFC3339Nano // keep the milliseconds for the console
	log.Logger = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}).
		With().Timestamp().Logger().Level(zerolog.InfoLevel)

	root := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "root", LogLevel: zerolog.InfoLevel},
		Strategy:    strategy.OneForOne,
		MaxRestarts: 10,
		Window:      5 * time.Second,
		OnEvent: func(e supervisor.Event) {
			if e.Kind == supervisor.ChildRestarted {
				log.Info().Str("child", e.Child).Int("restart_count", e.RestartCount).Msg("event: back up")
			}
		},
	})
	ticker := &Ticker{}
	ticker.Configure(service.Config{Name: "ticker"})
	api, cache := &API{}, &Cache{}
	api.Configure(service.Config{Name: "api"})
	cache.Configure(service.Config{Name: "cache"})
	must(api.AddDependency(cache))
	must(root.Add(context.Background(), ticker))
	must(root.Add(context.Background(), service.Func("flaky", flaky)))
	must(root.Add(context.Background(), api))

	// The Worker runs the tree as a process: SIGINT/SIGTERM stop it,
	// SIGUSR1 dumps the tree and the goroutines' stacks to stderr, and a
	// crash that reaches the root ends it with exit code 1.
	ctx := context.Background()
	if !*forever {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 4*time.Second)
		defer cancel()
	}
	w := &mode.Worker{
		Service:     root,
		StopTimeout: 5 * time.Second,
		Ready:       func() { log.Info().Int("pid", os.Getpid()).Msg("daemon running (kill -USR1 <pid> for a dump)") },
	}
	err := w.Run(ctx)
	for _, c := range root.Children() {
		log.Info().Str("child", c.ID).Int("restarts", c.RestartCount).Str("state", c.State.String()).Msg("summary")
	}
	if err != nil {
		log.Error().Err(err).Msg("daemon failed")
		os.Exit(mode.ExitFailure)
	}
}

func must(err error) {
	if err != nil {
		log.Fatal().Err(err).Msg("building the tree")
	}
}
