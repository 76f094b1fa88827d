package supervisor_test

import (
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestConfigureReplaces: Configure replaces the whole Config, for a
// service and for a Supervisor made by New; read-modify-write keeps the
// other fields. Spec reports the supervisor's current Config.
func TestConfigureReplaces(t *testing.T) {
	type target interface {
		Configure(service.Config)
		Config() service.Config
		ShortLabel() string
	}
	tests := []struct {
		name string
		make func() target
	}{
		{"service", func() target {
			w := &worker{}
			w.Configure(service.Config{Name: "api", StopTimeout: 3 * time.Second, Logger: &quiet})
			return w
		}},
		{"supervisor.New", func() target {
			return supervisor.New(supervisor.Spec{Service: service.Config{Name: "api", StopTimeout: 3 * time.Second, Logger: &quiet}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/second Configure", func(t *testing.T) {
			s := tt.make()
			if s.ShortLabel() != "api" {
				t.Fatalf("ShortLabel %q before, want api", s.ShortLabel())
			}
			s.Configure(service.Config{ShutdownTimeout: time.Second})
			got := s.Config()
			if got.Name != "" || got.StopTimeout != 0 || got.Logger != nil || got.ShutdownTimeout != time.Second {
				t.Fatalf("Config after a second Configure: %+v, want only ShutdownTimeout set", got)
			}
			if s.ShortLabel() == "api" {
				t.Fatal(`ShortLabel still "api": the name was replaced`)
			}
			if sup, ok := s.(*supervisor.Supervisor); ok && sup.Spec().Service != got {
				t.Fatalf("Spec().Service %+v, want the current Config %+v", sup.Spec().Service, got)
			}
		})
		t.Run(tt.name+"/read-modify-write", func(t *testing.T) {
			s := tt.make()
			cfg := s.Config()
			cfg.ShutdownTimeout = time.Second
			s.Configure(cfg)
			got := s.Config()
			if got.Name != "api" || got.StopTimeout != 3*time.Second || got.Logger != &quiet || got.ShutdownTimeout != time.Second {
				t.Fatalf("Config after read-modify-write: %+v", got)
			}
			if s.ShortLabel() != "api" {
				t.Fatalf("ShortLabel %q, want api", s.ShortLabel())
			}
		})
	}
}
