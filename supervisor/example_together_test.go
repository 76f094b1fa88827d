package supervisor_test

import (
	"context"
	"fmt"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// handler is a connection handler: OnStop says how many of its siblings'
// runs were cancelled when its own stop steps began.
type handler struct {
	service.Base
	all []*handler
}

func (h *handler) OnStop(context.Context) error {
	cancelled := 0
	for _, x := range h.all {
		select {
		case <-x.Done():
			cancelled++
		default:
		}
	}
	fmt.Printf("%s stops: %d of %d cancelled\n", h.ShortLabel(), cancelled, len(h.all))
	return nil
}

var _ service.OnStopper = (*handler)(nil)

// With Spec.StopTogether, a supervisor's Stop cancels every child at once;
// their stop steps (OnStop here) still run one after another, in reverse
// order. Without it, each child is cancelled in its turn.
func ExampleSpec_stopTogether() {
	l := zerolog.Nop()
	for _, together := range []bool{false, true} {
		fmt.Println("StopTogether:", together)
		sup := supervisor.New(supervisor.Spec{
			Service:      service.Config{Name: "conns", Logger: &l},
			StopTogether: together,
		})
		var all []*handler
		for i := range 3 {
			h := &handler{}
			h.Configure(service.Config{Name: fmt.Sprintf("conn%d", i), Logger: &l})
			all = append(all, h)
		}
		for _, h := range all {
			h.all = all
			_ = sup.Add(context.Background(), h)
		}
		ctx := context.Background()
		if err := service.Start(ctx, sup); err != nil {
			fmt.Println(err)
			return
		}
		_ = sup.Stop(ctx)
	}
	// Output:
	// StopTogether: false
	// conn2 stops: 1 of 3 cancelled
	// conn1 stops: 2 of 3 cancelled
	// conn0 stops: 3 of 3 cancelled
	// StopTogether: true
	// conn2 stops: 3 of 3 cancelled
	// conn1 stops: 3 of 3 cancelled
	// conn0 stops: 3 of 3 cancelled
}
