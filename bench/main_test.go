package bench

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that nothing a test or benchmark started outlives it.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
