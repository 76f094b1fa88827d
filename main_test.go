package mode_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every whole-tree test must leave no goroutine behind once its tree is
// stopped.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
