package service_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// TestLoggerCachesUnderConcurrentChanges: a service logging while its
// parent's logger, its own name or its parent changes must log, once the
// change has returned, to the new logger under the new name: a cache
// filled from what was read before the change must not outlive it.
func TestLoggerCachesUnderConcurrentChanges(t *testing.T) {
	tests := []struct {
		name string
		// change runs concurrently with the kid's logging; it returns the
		// buffer and the name the kid's lines must have afterwards.
		change func(t *testing.T, p1, p2, kid *raceSvc) (*jsonLog, string)
	}{
		{
			name: "parent's Configure",
			change: func(t *testing.T, p1, _, _ *raceSvc) (*jsonLog, string) {
				b, l := newLog(zerolog.DebugLevel)
				p1.Configure(service.Config{Name: "p1", Logger: l})
				return b, "kid"
			},
		},
		{
			name: "own rename",
			change: func(t *testing.T, p1, _, kid *raceSvc) (*jsonLog, string) {
				kid.Configure(service.Config{Name: "renamed"})
				return p1.buf, "renamed"
			},
		},
		{
			name: "moved to another parent",
			change: func(t *testing.T, p1, p2, kid *raceSvc) (*jsonLog, string) {
				if err := p1.RemoveDependency(context.Background(), kid); err != nil {
					t.Error(err)
				}
				if err := p2.AddDependency(kid); err != nil {
					t.Error(err)
				}
				return p2.buf, "kid"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 300 && !t.Failed(); i++ {
				p1, p2, kid := &raceSvc{}, &raceSvc{}, &raceSvc{}
				b1, l1 := newLog(zerolog.DebugLevel)
				b2, l2 := newLog(zerolog.DebugLevel)
				p1.buf, p2.buf = b1, b2
				p1.Configure(service.Config{Name: "p1", Logger: l1})
				p2.Configure(service.Config{Name: "p2", Logger: l2})
				kid.Configure(service.Config{Name: "kid"})
				holder := &raceSvc{} // adopts p1 and p2: a child reads an adopted parent's logger
				for _, p := range []*raceSvc{p1, p2} {
					if err := holder.AddDependency(p); err != nil {
						t.Fatal(err)
					}
				}
				if err := p1.AddDependency(kid); err != nil {
					t.Fatal(err)
				}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
							kid.Log().Debug().Msg("during")
						}
					}
				}()
				for j := range 20 { // churn: each change empties the caches the kid refills
					if j%2 == 0 {
						p1.Configure(service.Config{Name: "p1", Logger: l2})
					} else {
						p1.Configure(service.Config{Name: "p1", Logger: l1})
					}
				}
				want, name := tt.change(t, p1, p2, kid)
				close(stop)
				wg.Wait()
				kid.Log().Info().Msg("after")
				got := want.find(t, "after")
				if len(got) != 1 || got[0]["service"] != name {
					t.Fatalf("round %d: the line after the change: %v in the expected logger, want one with service=%s", i, got, name)
				}
			}
		})
	}
}

type raceSvc struct {
	service.Base
	buf *jsonLog // where its lines go (its Config.Logger's output)
}

// TestLogCachedAllocs: once built, a service's logger is handed out
// without an allocation, whichever way it was resolved.
func TestLogCachedAllocs(t *testing.T) {
	_, own := newLog(zerolog.DebugLevel)
	tests := []struct {
		name string
		cfg  service.Config
	}{
		{"own logger", service.Config{Name: "s", Logger: own}},
		{"inherited", service.Config{Name: "s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := &raceSvc{}, &raceSvc{}
			p.Configure(service.Config{Name: "p", Logger: own})
			s.Configure(tt.cfg)
			holder := &raceSvc{}
			if err := holder.AddDependency(p); err != nil {
				t.Fatal(err)
			}
			if err := p.AddDependency(s); err != nil {
				t.Fatal(err)
			}
			first := s.Log()
			if a := testing.AllocsPerRun(100, func() {
				if s.Log() != first {
					t.Fatal("Log() changed without a change")
				}
			}); a != 0 {
				t.Errorf("Log() allocates %v times once built", a)
			}
		})
	}
}
