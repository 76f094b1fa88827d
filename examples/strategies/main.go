// Command strategies configures each OTP restart strategy in code, crashes
// the middle of three children and prints who was restarted:
//
//	one_for_one   restarts the crashed child only;
//	one_for_all   stops the others (in reverse order) and restarts all;
//	rest_for_one  restarts the crashed child and those added after it.
//
// A last run shows restart types: under one_for_all a Temporary bystander
// is dropped instead of restarted, and a Transient child that exits
// normally is not restarted at all.
//
//	go run ./examples/strategies
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
)

// Worker records its starts and stops in a shared journal.
type Worker struct {
	service.Base
	j *journal
}

// OnStart records the start in the journal.
func (w *Worker) OnStart(context.Context) error {
	w.j.add("start " + w.ShortLabel())
	return nil
}

// OnStop records the stop in the journal.
func (w *Worker) OnStop(context.Context) error {
	w.j.add("stop " + w.ShortLabel())
	return nil
}

type journal struct {
	mu    sync.Mutex
	lines []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.lines = append(j.lines, s)
	j.mu.Unlock()
}

func (j *journal) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.lines
	j.lines = nil
	return out
}

func newWorker(name string, j *journal) *Worker {
	w := &Worker{j: j}
	w.Configure(service.Config{Name: name})
	return w
}

// events turns a supervisor's event hook into a channel (the hook must not
// block: the buffer is large enough for these runs).
func events() (chan supervisor.Event, func(supervisor.Event)) {
	ch := make(chan supervisor.Event, 64)
	return ch, func(e supervisor.Event) { ch <- e }
}

// waitFor reads events until one of kind for child arrives, returning the
// IDs restarted on the way.
func waitFor(ch <-chan supervisor.Event, kind supervisor.EventKind, child string) ([]string, error) {
	var restarted []string
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Kind == supervisor.ChildRestarted {
				restarted = append(restarted, e.Child)
			}
			if e.Kind == kind && e.Child == child {
				return restarted, nil
			}
		case <-timeout:
			return restarted, fmt.Errorf("no %v event for %s", kind, child)
		}
	}
}

func main() {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	// Colour on a terminal, JSON lines into a pipe or a file.
	var out io.Writer = os.Stderr
	if isatty.IsTerminal(os.Stderr.Fd()) {
		out = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}
	}
	log.Logger = zerolog.New(out).With().Timestamp().Logger().Level(zerolog.InfoLevel)
	ctx := context.Background()

	for _, strat := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		j := &journal{}
		ch, hook := events()
		sup := supervisor.New(supervisor.Spec{
			Service:  service.Config{Name: strat.String()},
			Strategy: strat,
			OnEvent:  hook,
		})
		a, b, c := newWorker("a", j), newWorker("b", j), newWorker("c", j)
		for _, w := range []*Worker{a, b, c} {
			must(sup.Add(context.Background(), w))
		}
		must(service.Start(ctx, sup))
		j.take()

		b.Crash(errors.New("simulated failure"))
		// The group restarts in start order, so its last member's event
		// ends it: c, unless only b restarts.
		last := "c"
		if strat == strategy.OneForOne {
			last = "b"
		}
		restarted, err := waitFor(ch, supervisor.ChildRestarted, last)
		must(err)
		fmt.Printf("%-12s b crashed → restarted %v\n", strat, restarted)
		fmt.Printf("%-12s   journal: %s\n", "", strings.Join(j.take(), ", "))
		for _, ci := range sup.Children() {
			fmt.Printf("%-12s   %s: %s, RestartCount %d\n", "", ci.ID, ci.State, ci.RestartCount)
		}
		must(sup.Stop(ctx))
	}

	// Restart types under one_for_all: b (Permanent) crashes; a is a
	// Temporary bystander (dropped), c Transient (restarted with the group).
	// Then t, a Transient Func, exits normally: nothing restarts.
	j := &journal{}
	ch, hook := events()
	sup := supervisor.New(supervisor.Spec{
		Service:  service.Config{Name: "types"},
		Strategy: strategy.OneForAll,
		OnEvent:  hook,
	})
	a, b, c := newWorker("a", j), newWorker("b", j), newWorker("c", j)
	must(sup.Add(context.Background(), a, supervisor.ChildSpec{Restart: strategy.Temporary}))
	must(sup.Add(context.Background(), b, supervisor.ChildSpec{Restart: strategy.Permanent}))
	must(sup.Add(context.Background(), c, supervisor.ChildSpec{Restart: strategy.Transient}))
	done := make(chan struct{})
	must(sup.Add(context.Background(), service.Func("t", func(ctx context.Context) error {
		select {
		case <-done:
			return nil // a normal exit
		case <-ctx.Done():
			return ctx.Err()
		}
	}), supervisor.ChildSpec{ID: "t", Restart: strategy.Transient}))
	must(service.Start(ctx, sup))
	j.take()

	b.Crash(errors.New("simulated failure"))
	restarted, err := waitFor(ch, supervisor.ChildRestarted, "t")
	must(err)
	fmt.Printf("%-12s b crashed → restarted %v; Temporary a dropped: children now %v\n", "types", restarted, ids(sup))
	close(done)
	_, err = waitFor(ch, supervisor.ChildExited, "t")
	must(err)
	fmt.Printf("%-12s t exited normally → nothing restarted; children %v\n", "", states(sup))
	must(sup.Stop(ctx))
}

func ids(sup *supervisor.Supervisor) []string {
	var out []string
	for _, c := range sup.Children() {
		out = append(out, c.ID)
	}
	return out
}

func states(sup *supervisor.Supervisor) []string {
	var out []string
	for _, c := range sup.Children() {
		out = append(out, c.ID+"="+c.State.String())
	}
	return out
}

func must(err error) {
	if err != nil {
		log.Fatal().Err(err).Msg("strategies")
	}
}
