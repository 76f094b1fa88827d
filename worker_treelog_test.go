package mode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// sayer logs one Info line in OnStart, through its own Log.
type sayer struct{ service.Base }

func (s *sayer) OnStart(context.Context) error {
	s.Log().Info().Msg("hello")
	return nil
}

// TestWorkerLoggerReachesTree: the Worker's log output (LogFile, LogLevel)
// gets the lines of every service without a logger of its own, children
// of a supervisor included; a service with its own Config.Logger keeps it.
func TestWorkerLoggerReachesTree(t *testing.T) {
	var own bytes.Buffer
	ownLog := zerolog.New(&own)
	sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: "sup"}})
	inherit, mine := &sayer{}, &sayer{}
	inherit.Configure(service.Config{Name: "inherit"})
	mine.Configure(service.Config{Name: "mine", Logger: &ownLog})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range []service.Service{inherit, mine} {
		if err := sup.Add(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "w.log")
	w := &mode.Worker{Service: sup, LogFile: path, StopTimeout: time.Minute, Ready: cancel}
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hello := map[string]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		if m["level"] == "debug" {
			t.Errorf("a Debug line at the default level: %s", line)
		}
		if m["message"] == "hello" {
			hello[m["service"].(string)]++
		}
	}
	if hello["inherit"] != 1 || hello["mine"] != 0 {
		t.Errorf("hello lines in the Worker's file by service: %v, want inherit once and mine never", hello)
	}
	if !bytes.Contains(own.Bytes(), []byte(`"service":"mine"`)) || !bytes.Contains(own.Bytes(), []byte(`"hello"`)) {
		t.Errorf("the service's own logger got %q, want its hello line", own.String())
	}
}
