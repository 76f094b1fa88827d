package mode_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Every whole-tree test must leave no goroutine behind once its tree is
// stopped. A test binary started with daemonEnv set is not a test run: it
// is the daemon of a process test (see daemon_test.go) and exits with the
// Worker's exit code.
func TestMain(m *testing.M) {
	if scenario := os.Getenv(daemonEnv); scenario != "" {
		os.Exit(runDaemon(scenario))
	}
	goleak.VerifyTestMain(m)
}
