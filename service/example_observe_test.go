package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// landings hears of the states services end up in, and of each stop.
type landings struct {
	mu   sync.Mutex
	seen []string
}

// Compile-time checks of the optional capabilities.
var (
	_ service.StateFilter  = (*landings)(nil)
	_ service.StopObserver = (*landings)(nil)
)

func (l *landings) note(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, s)
}

func (l *landings) ObservedStates() []service.State {
	return []service.State{service.Running, service.Crashed, service.Shutdown}
}

func (l *landings) StateChanged(s service.Service, from, to service.State) {
	l.note(fmt.Sprintf("%s: %s -> %s", s.ShortLabel(), from, to))
}

func (l *landings) Stopped(s service.Service, _ time.Duration, err error) {
	l.note(fmt.Sprintf("%s: stopped (err %v)", s.ShortLabel(), err))
}

// An observer that hears only where services end up (StateFilter): the
// changes to Starting and Stopping do not reach it; its stops do.
func ExampleStateFilter() {
	nop := zerolog.Nop()
	fail := make(chan struct{})
	f := service.Func("worker", func(ctx context.Context) error {
		<-fail
		return errors.New("disk full")
	})
	f.Configure(service.Config{Logger: &nop})
	l := &landings{}
	detach, err := service.Observe(f, l)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer detach()
	ctx := context.Background()
	if err := service.Start(ctx, f); err != nil {
		fmt.Println(err)
		return
	}
	close(fail)
	<-f.Done()
	_ = f.Stop(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.seen {
		fmt.Println(s)
	}
	// Output:
	// worker: starting -> running
	// worker: running -> crashed
	// worker: stopping -> shutdown
	// worker: stopped (err <nil>)
}
