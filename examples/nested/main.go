// Command nested shows supervisors under supervisors and how a crash
// escalates when a supervisor runs out of restarts:
//
//	root (one-for-one, 5 restarts)
//	├── audit            a plain service, never disturbed
//	└── workers (one-for-one, 1 restart)
//	    └── pool (one-for-one, 1 restart)
//	        └── conn     crashes every 200ms
//
// The first crash is handled by pool. The second exceeds pool's intensity:
// pool stops its children and crashes with ErrMaxRestarts, and workers
// restarts it. Two crashes later pool gives up again, which is one restart
// too many for workers: it crashes in turn, and root restarts workers (and
// everything below it). The program stops once root has restarted workers
// twice and prints the tree's restart counts.
//
//	go run ./examples/nested [-loglevel=debug] [-logfile=nested.log]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog/log"
)

// Audit is a sibling of the workers subtree: it is never restarted.
type Audit struct{ service.Base }

// conn fails 200ms into each run.
func conn(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(200 * time.Millisecond):
		return errors.New("connection reset by peer")
	}
}

func main() {
	loglevel := flag.String("loglevel", "info", "lowest level logged: trace, debug, info, warn, error")
	logfile := flag.String("logfile", "", "append the log to this file as JSON lines (default: stderr)")
	flag.Parse()

	// The supervisors log crashes, restarts and escalations themselves;
	// their events only tell main when root has restarted workers: the
	// second time, the Worker is told to stop the tree. OnEvent runs on
	// root's goroutine, so the count needs no lock.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rootRestarts := 0
	onEvent := func(e supervisor.Event) {
		if e.Kind == supervisor.ChildRestarted && e.Supervisor == "root" {
			if rootRestarts++; rootRestarts == 2 {
				cancel()
			}
		}
	}
	newSup := func(name string, maxRestarts int) *supervisor.Supervisor {
		return supervisor.New(supervisor.Spec{
			Service:     service.Config{Name: name},
			MaxRestarts: maxRestarts,
			Window:      time.Minute,
			OnEvent:     onEvent,
		})
	}
	root, workers, pool := newSup("root", 5), newSup("workers", 1), newSup("pool", 1)
	audit := &Audit{}
	audit.Configure(service.Config{Name: "audit"})
	leaf := service.Func("conn", conn)
	must(pool.Add(ctx, leaf))
	must(workers.Add(ctx, pool))
	must(root.Add(ctx, audit))
	must(root.Add(ctx, workers))

	// The Worker runs the tree until ctx ends (root restarted workers twice,
	// or 5s passed), then stops it; SIGINT/SIGTERM stop it earlier.
	w := &mode.Worker{Service: root, LogLevel: *loglevel, LogFile: *logfile, StopTimeout: 5 * time.Second}
	if err := w.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "nested:", err)
		os.Exit(mode.ExitCode(err))
	}
	if rootRestarts < 2 {
		fmt.Fprintln(os.Stderr, "nested: root did not restart workers twice within 5s")
		os.Exit(mode.ExitFailure)
	}

	fmt.Println("restart counts (a service's count includes its ancestors' restarts):")
	for _, s := range []struct {
		indent string
		svc    service.Service
	}{{"", root}, {"  ", audit}, {"  ", workers}, {"    ", pool}, {"      ", leaf}} {
		fmt.Printf("%s%-8s RestartCount=%d\n", s.indent, s.svc.ShortLabel(), s.svc.RestartCount())
	}
	for _, sup := range []*supervisor.Supervisor{root, workers, pool} {
		for _, c := range sup.Children() {
			fmt.Printf("%s restarted %s %d time(s); last reason: %v\n", sup.ShortLabel(), c.ID, c.RestartCount, c.LastReason)
		}
	}
}

func must(err error) {
	if err != nil {
		log.Fatal().Err(err).Msg("building the tree")
	}
}
