package supervisor_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// With PassThroughPanics a panic in a child is not recovered: it ends the
// program, as it would without mode (for debugging with the real stack).
// The panic runs in a child process: this test re-runs its own binary.
func TestPassThroughPanics(t *testing.T) {
	if os.Getenv("MODE_PASSTHROUGH_CHILD") == "1" {
		s := newSup(supervisor.Spec{PassThroughPanics: true}, nil)
		f := service.Func("boom", func(context.Context) error { panic("kaboom: passed through") })
		f.Configure(service.Config{Logger: &quiet})
		if err := s.Add(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		_ = service.Start(context.Background(), s)
		select {} // the panic ends the process
	}
	cmd := exec.CommandContext(bg(t), os.Args[0], "-test.run=^TestPassThroughPanics$")
	cmd.Env = append(os.Environ(), "MODE_PASSTHROUGH_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the child process did not fail:\n%s", out)
	}
	if !strings.Contains(string(out), "panic: kaboom: passed through") {
		t.Fatalf("no pass-through panic in the child's output:\n%s", out)
	}
}
