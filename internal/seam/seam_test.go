package seam_test

import (
	"reflect"
	"testing"

	"github.com/gomode/mode/internal/seam"
	_ "github.com/gomode/mode/service"    // fills seam.Ops in its init
	_ "github.com/gomode/mode/supervisor" // sets seam.Finder in its init
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every operation the supervisor relies on is provided by package service,
// and package supervisor registers its finder: a field left nil would be a
// nil-func panic on the first crash.
func TestOpsFilled(t *testing.T) {
	ops := reflect.ValueOf(seam.Ops)
	for i := range ops.NumField() {
		if ops.Field(i).IsNil() {
			t.Errorf("seam.Ops.%s is not set by package service", ops.Type().Field(i).Name)
		}
	}
	if seam.Finder == nil {
		t.Error("seam.Finder is not set by package supervisor")
	}
	if seam.Finder(struct{}{}) != nil {
		t.Error("Finder found machinery in a value that is no supervisor")
	}
}
