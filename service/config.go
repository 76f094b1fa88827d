package service

import (
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/rs/zerolog"
)

// Default values used when a Config field is zero.
const (
	DefaultStopTimeout     = 10 * time.Second
	DefaultShutdownTimeout = 10 * time.Second
)

// Clock is the source of time for budgets, sleeps and timers. Its
// implementations are internal to this module: leave Config.Clock nil and
// test with testing/synctest (see Config.Clock).
type Clock = clock.Clock

// Config configures a service. It is a plain struct: the zero value means
// every documented default, so a service needs no configuration at all.
type Config struct {
	// Name is the service's short label in logs, dumps and child IDs.
	// Default: the Go type name of the value handed over.
	Name string
	// Logger is the base logger; every line adds service=<ShortLabel>.
	// Default: the parent's logger (the service or supervisor it was added
	// to), else for a service without a parent the logger of its start ctx
	// (WithLogger), else zerolog's global logger
	// (github.com/rs/zerolog/log.Logger); see Base.Log.
	Logger *zerolog.Logger
	// LogLevel is the level of the mundane lifecycle lines ("Starting",
	// "Started", "Stopping", "Stopped"). Default (zero): zerolog.DebugLevel.
	LogLevel zerolog.Level
	// StopTimeout bounds a whole Stop, children included; an earlier
	// deadline on Stop's ctx (or a smaller budget from the parent or
	// supervisor stopping it) wins. Zero: the budget the caller gives (the
	// ctx's deadline, the parent's remaining budget), else
	// DefaultStopTimeout (10s). Negative: Start fails with ErrBadArgument.
	StopTimeout time.Duration
	// WaitForShutdown makes Stop wait, after the children have stopped,
	// until SetShutdown is called (bounded by ShutdownTimeout).
	WaitForShutdown bool
	// ShutdownTimeout bounds the wait for SetShutdown.
	// Default: DefaultShutdownTimeout (10s). Negative: Start fails with
	// ErrBadArgument.
	ShutdownTimeout time.Duration
	// Clock is the source of time. Default (nil): the real clock, that is
	// package time's time.Now and timers. Leave it nil: the fake clocks
	// that implement it are internal to this module's own tests. To test a
	// service's timers, cron jobs, budgets, heartbeat deadlines or a
	// supervisor's backoff without sleeping, run the test inside
	// testing/synctest's synctest.Test, whose fake time the real clock
	// reads (see "Testing your services" in the package doc).
	Clock Clock
	// MonitoringInterval turns on health monitoring: while the service is
	// Running, its Healthcheck hook (Healthchecker) is called every
	// interval; a failure crashes it with ErrUnhealthy. Zero: off;
	// negative: Start fails with ErrBadArgument.
	MonitoringInterval time.Duration
	// HeartbeatDeadline turns on hang detection: while the service is
	// Running, its code must call Heartbeat at least once per deadline, or
	// it crashes with ErrHung. Zero: off; negative: Start fails with
	// ErrBadArgument.
	HeartbeatDeadline time.Duration
}

func (c *Config) shutdownTimeout() time.Duration {
	if c.ShutdownTimeout > 0 {
		return c.ShutdownTimeout
	}
	return DefaultShutdownTimeout
}

// Validate reports whether c is usable: ErrBadArgument for a negative
// duration (zero means the default, or off). Start makes the same check
// and fails with this error.
func (c Config) Validate() error { return c.validate() }

// validate is Validate without copying c (each start calls it).
func (c *Config) validate() error {
	if c.StopTimeout|c.ShutdownTimeout|c.MonitoringInterval|c.HeartbeatDeadline >= 0 {
		return nil // none is negative (the sign bit of their OR): each start's case
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"StopTimeout", c.StopTimeout}, {"ShutdownTimeout", c.ShutdownTimeout},
		{"MonitoringInterval", c.MonitoringInterval}, {"HeartbeatDeadline", c.HeartbeatDeadline},
	} {
		if f.d < 0 {
			return errorf(ErrBadArgument, "Config.%s %v is negative", f.name, f.d)
		}
	}
	return nil
}
