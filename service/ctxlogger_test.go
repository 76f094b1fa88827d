package service_test

import (
	"context"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// TestWithLoggerSurvivesConfigure: a root without a logger of its own,
// started under WithLogger, keeps logging (it and its children) to the
// ctx's logger after a Configure while it runs (a rename), instead of
// falling back to zerolog's global logger until its next start; a
// Configure that sets a logger takes effect at once.
func TestWithLoggerSurvivesConfigure(t *testing.T) {
	ctxOut, ctxLog := newLog(zerolog.InfoLevel)
	ownOut, ownLog := newLog(zerolog.InfoLevel)
	root, kid := &logSvc{}, &logSvc{}
	root.Configure(service.Config{Name: "root"})
	kid.Configure(service.Config{Name: "kid"})
	if err := root.AddDependency(kid); err != nil {
		t.Fatal(err)
	}
	ctx := service.WithLogger(context.Background(), ctxLog)
	if err := service.Start(ctx, root); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = root.Stop(context.Background()) }()
	steps := []struct {
		name string
		cfg  service.Config
		out  *jsonLog
	}{
		{"renamed", service.Config{Name: "renamed"}, ctxOut},
		{"own logger", service.Config{Name: "renamed", Logger: ownLog}, ownOut},
	}
	for _, st := range steps {
		root.Configure(st.cfg)
		root.Log().Info().Msg(st.name + " root")
		kid.Log().Info().Msg(st.name + " kid")
		for _, who := range []string{" root", " kid"} {
			if n := len(st.out.find(t, st.name+who)); n != 1 {
				t.Errorf("%s: %d lines %q in the expected logger, want 1", st.name, n, st.name+who)
			}
		}
	}
}
