package observe_test

import (
	"context"
	"fmt"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// A Metrics attached to a tree counts its supervisors' events; the
// application registers it on its own registry (and serves the registry
// with promhttp.HandlerFor).
func ExampleMetrics() {
	l := zerolog.Nop()
	restarted := make(chan struct{}, 1)
	sup := supervisor.New(supervisor.Spec{
		Service: service.Config{Name: "root", Logger: &l},
		OnEvent: func(e supervisor.Event) {
			if e.Kind == supervisor.ChildRestarted {
				restarted <- struct{}{}
			}
		},
	})
	worker := service.Func("worker", func(ctx context.Context) error { <-ctx.Done(); return nil })
	worker.Configure(service.Config{Logger: &l})
	_ = sup.Add(context.Background(), worker)

	m := &observe.Metrics{}
	detach, err := m.Attach(sup)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer detach()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)

	_ = service.Start(context.Background(), sup)
	worker.Crash(fmt.Errorf("lost the connection"))
	<-restarted
	_ = sup.Stop(context.Background()) // the supervisor's events have all been counted

	families, _ := reg.Gather()
	for _, f := range families {
		switch f.GetName() {
		case "mode_child_crashes_total", "mode_child_restarts_total", "mode_services":
			for _, s := range f.GetMetric() {
				v := s.GetCounter().GetValue() + s.GetGauge().GetValue()
				if v != 0 {
					fmt.Printf("%s{%s=%q} %v\n", f.GetName(), s.GetLabel()[0].GetName(), s.GetLabel()[0].GetValue(), v)
				}
			}
		}
	}
	// Output:
	// mode_child_crashes_total{service="root/worker"} 1
	// mode_child_restarts_total{service="root/worker"} 1
	// mode_services{state="shutdown"} 2
}

// In a Worker's Extensions, a Metrics is attached to the Worker's tree for
// the run.
func ExampleMetrics_WorkerPhase() {
	l := zerolog.Nop()
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root", Logger: &l}})
	_ = sup.Add(context.Background(), service.Func("worker", func(ctx context.Context) error { <-ctx.Done(); return nil }))

	m := &observe.Metrics{Namespace: "app"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)

	ctx, cancel := context.WithCancel(context.Background())
	w := mode.Worker{
		Service:    sup,
		Logger:     &l,
		Extensions: []mode.Extension{m},
		Ready: func() {
			families, _ := reg.Gather()
			for _, f := range families {
				if f.GetName() == "app_services" {
					for _, s := range f.GetMetric() {
						if v := s.GetGauge().GetValue(); v != 0 {
							fmt.Printf("%s services %v\n", s.GetLabel()[0].GetValue(), v)
						}
					}
				}
			}
			cancel()
		},
	}
	if err := w.Run(ctx); err != nil {
		fmt.Println(err)
	}
	// Output:
	// running services 2
}
