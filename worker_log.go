package mode

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// DefaultLogLevel is the level of the Worker's logger when LogLevel is
// empty: the routine Debug lifecycle lines ("Starting", "Stopped") are not
// written, crashes, restarts and the Worker's own lines are.
const DefaultLogLevel = zerolog.InfoLevel

// logLevels are the names LogLevel accepts, as zerolog spells them.
var logLevels = []zerolog.Level{
	zerolog.TraceLevel, zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel,
	zerolog.ErrorLevel, zerolog.FatalLevel, zerolog.PanicLevel, zerolog.Disabled,
}

// checkLog reports contradictory or unusable log options without opening
// anything.
func (w *Worker) checkLog() (zerolog.Level, error) {
	if w.Logger != nil {
		if w.LogLevel != "" || w.LogFile != "" {
			return 0, fmt.Errorf("%w: Logger together with LogLevel or LogFile (set the level and output on the Logger itself)", ErrConflictingOptions)
		}
		return w.Logger.GetLevel(), nil
	}
	if w.LogLevel == "" {
		return DefaultLogLevel, nil
	}
	name := strings.ToLower(strings.TrimSpace(w.LogLevel))
	for _, l := range logLevels {
		if l.String() == name {
			return l, nil
		}
	}
	names := make([]string, len(logLevels))
	for i, l := range logLevels {
		names[i] = l.String()
	}
	return 0, fmt.Errorf("%w: LogLevel %q is not one of %s", ErrBadConfig, w.LogLevel, strings.Join(names, ", "))
}

// openLog returns the Worker's logger and what closes its output (nil when
// nothing needs closing): Logger if set, else a logger at level writing to
// LogFile (appended to, created if needed) or stderr, in colour through
// zerolog.ConsoleWriter when that output is a terminal, as JSON lines
// otherwise.
func (w *Worker) openLog(level zerolog.Level) (*zerolog.Logger, io.Closer, error) {
	if w.Logger != nil {
		return w.Logger, nil, nil
	}
	out, closer := os.Stderr, io.Closer(nil)
	if w.LogFile != "" {
		f, err := os.OpenFile(w.LogFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: LogFile: %w", ErrBadConfig, err)
		}
		out, closer = f, f
	}
	var dst io.Writer = out
	if fd := out.Fd(); isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd) {
		dst = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
	}
	l := zerolog.New(dst).Level(level).With().Timestamp().Logger()
	return &l, closer, nil
}
