package supervisor_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

type review27Child struct{ service.Base }

// A supervisor made by New but not yet started calls itself "Base" in its
// labels, and so in the errors it returns ("Base: restart
// review27Child#1: mode: supervisor not running (state init)"), where the
// same supervisor says "Supervisor" once started. ShortLabel's doc says
// "the Go type name of the value handed over": New returns the value, so
// a newcomer reads "Base" as some other service.
func TestReview27LabelBeforeStart(t *testing.T) {
	sup := supervisor.New(supervisor.Spec{})
	if got := sup.ShortLabel(); got != "Supervisor" {
		t.Errorf("ShortLabel before Start = %q, want %q", got, "Supervisor")
	}
	c := &review27Child{}
	if err := sup.Add(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	err := c.Restart(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "Supervisor: ") {
		t.Errorf("Restart of a child of an unstarted supervisor: %v, want it to begin with %q", err, "Supervisor: ")
	}
}
