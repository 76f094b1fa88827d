// Command daemon is a small supervised daemon: a root supervisor with a
// ticker, a flaky worker that crashes now and then, and an API service
// with a cache below it. The log tells the story: crashes, restarts,
// restart counts.
//
//	go run ./examples/daemon                  # stops by itself after 4 seconds
//	go run ./examples/daemon -forever         # runs until SIGINT or SIGTERM (SIGUSR1: dump)
//	go run ./examples/daemon -for=1m          # stops by itself after a minute
//	go run ./examples/daemon -loglevel=debug  # also the routine lifecycle lines
//	go run ./examples/daemon -logfile=d.log   # JSON lines appended to d.log
//	go run ./examples/daemon -observe :8080   # serves the live page and the probes
//
// With -observe addr, the daemon serves the live page on http://addr/, the
// probes /healthz and /readyz, and /debug/tree.json (.dot, .mmd) while it
// runs (observe.Server); it then runs until SIGINT or SIGTERM, as with
// -forever, unless -for limits it. Try curl -i localhost:8080/readyz while
// the flaky worker crashes and restarts.
//
// Under systemd (the unit in examples/systemd) it also notifies READY=1,
// STOPPING=1, STATUS= and the watchdog (observe.Systemd); elsewhere that
// costs nothing.
//
// The exit code says how it ended (0 stopped, 1 crashed, 81 forced by a
// second SIGINT/SIGTERM during the stop...): see the table in go doc
// github.com/gomode/mode.
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
	"github.com/gomode/mode/observe"
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

// OnStart starts the timer; it belongs to this run, so a restart starts a
// fresh one and a stop ends it.
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

// OnStarted runs once the API and its cache run: it logs how many times
// the API has been restarted.
func (a *API) OnStarted(context.Context) error {
	a.Log().Info().Int("restarts", a.RestartCount()).Msg("API serving")
	return nil
}

// OnRestart runs between the stop and the start of each restart.
func (a *API) OnRestart(context.Context) error {
	a.Log().Info().Msg("API restarting: reloading configuration")
	return nil
}

// Cache is the API's child. Its first run loses its backing store after
// 1.5s and crashes.
type Cache struct{ service.Base }

// OnStart, on the first run only, starts a task that crashes the cache
// after 1.5s; later runs keep running.
func (c *Cache) OnStart(context.Context) error {
	if c.RestartCount() > 0 {
		c.Log().Info().Int("restarts", c.RestartCount()).Msg("cache warmed up again")
		return nil
	}
	return c.Go("evict", func(ctx context.Context) error {
		if err := c.Sleep(ctx, 1500*time.Millisecond); err != nil {
			return nil // stopped first
		}
		return errors.New("backing store went away")
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
		panic("nil map write (simulated)")
	}
	return fmt.Errorf("lost connection after %v", d.Round(time.Millisecond))
}

func main() {
	forever := flag.Bool("forever", false, "run until SIGINT or SIGTERM instead of stopping after 4s")
	limit := flag.Duration("for", 4*time.Second, "stop by itself after this long (0: run until SIGINT or SIGTERM)")
	addr := flag.String("observe", "", "serve the live page and the health endpoints on this address (host:port) while running; implies -forever unless -for is given")
	loglevel := flag.String("loglevel", "info", "lowest level logged: trace, debug, info, warn, error")
	logfile := flag.String("logfile", "", "append the log to this file as JSON lines (default: stderr)")
	flag.Parse()

	root := supervisor.New(supervisor.Spec{
		Service:     service.Config{Name: "root", LogLevel: zerolog.InfoLevel},
		Strategy:    strategy.OneForOne,
		MaxRestarts: 10,
		Window:      5 * time.Second,
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

	// The Worker runs the tree as a process: SIGINT/SIGTERM stop it (a
	// second one during the stop exits at once), SIGUSR1 dumps the tree and
	// the goroutines' stacks to stderr, and a crash that reaches the root
	// ends it with exit code 1. Its logger (level and file from the flags)
	// is every service's logger.
	ctx := context.Background()
	limited := false
	flag.Visit(func(f *flag.Flag) { limited = limited || f.Name == "for" })
	if (*forever || *addr != "") && !limited {
		*limit = 0
	}
	if *limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *limit)
		defer cancel()
	}
	// Under systemd (Type=notify, see examples/systemd): READY=1,
	// STATUS=, STOPPING=1, and WATCHDOG=1 while the tree is live.
	// Outside systemd it does nothing.
	ext := []mode.Extension{&observe.Systemd{}}
	if *addr != "" {
		// The page and probes, served from before the tree starts (readyz
		// answers 503 until every service runs) until after it stops.
		ext = append(ext, &observe.Server{Addr: *addr})
	}
	w := &mode.Worker{
		Service:     root,
		LogLevel:    *loglevel,
		LogFile:     *logfile,
		StopTimeout: 5 * time.Second,
		Ready:       func() { root.Log().Info().Int("pid", os.Getpid()).Msg("daemon running (kill -USR1 <pid> for a dump)") },
		Extensions:  ext,
	}
	err := w.Run(ctx)
	for _, c := range root.Children() {
		fmt.Printf("%-6s restarts=%d state=%s\n", c.ID, c.RestartCount, c.State)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "daemon:", err)
	}
	os.Exit(mode.ExitCode(err))
}

func must(err error) {
	if err != nil {
		log.Fatal().Err(err).Msg("building the tree")
	}
}
