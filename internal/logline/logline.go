package logline

import (
	"errors"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// Round rounds d as log lines show it: to the millisecond from 1ms up, to
// the microsecond below.
func Round(d time.Duration) time.Duration {
	switch {
	case d >= time.Millisecond || d <= -time.Millisecond:
		return d.Round(time.Millisecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// Short rounds d coarser, for a dump read at a glance: to the
// microsecond under a millisecond, the millisecond under a second, the
// tenth of a second under a minute, the second above; negative durations
// round to 0.
func Short(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return 0
	case d < time.Millisecond:
		return d.Round(time.Microsecond)
	case d < time.Second:
		return d.Round(time.Millisecond)
	case d < time.Minute:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// Dur adds key=<d rounded, with its unit> to e. A disabled e (nil) costs
// nothing.
func Dur(e *zerolog.Event, key string, d time.Duration) *zerolog.Event {
	if !e.Enabled() {
		return e
	}
	return e.Str(key, Round(d).String())
}

// Err logs msg with err: one line with error=<err> for a single error, or
// one line per error err joins (see Lines). ev makes each line's event with
// its other fields; it is called once if the level is disabled.
func Err(ev func() *zerolog.Event, err error, msg string) {
	e := ev()
	if !e.Enabled() {
		return
	}
	if err == nil || !strings.Contains(err.Error(), "\n") {
		e.Err(err).Msg(msg)
		return
	}
	lines := Lines(err)
	for i, line := range lines {
		if i > 0 {
			e = ev()
		}
		e.Str(zerolog.ErrorFieldName, line).Msg(msg)
	}
}

// Lines splits err into one text per error it joins (errors.Join, or
// anything with Unwrap() []error), recursively; a wrap around a join (such
// as fmt.Errorf("x: stop: %w", joined)) prefixes each of its lines with its
// own text ("x: stop: "); line breaks in that text split it too, so that
// no line holds a line break. An error joining nothing is one line.
func Lines(err error) []string {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return []string{msg}
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok && isJoin(msg, j.Unwrap()) {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, Lines(e)...)
		}
		return out
	}
	if inner := errors.Unwrap(err); inner != nil {
		in := inner.Error()
		if prefix, ok := strings.CutSuffix(msg, in); ok {
			// A prefix with line breaks ("failed:\nstop: %w") gives its
			// own lines; its last line prefixes each inner line.
			var out []string
			if i := strings.LastIndexByte(prefix, '\n'); i >= 0 {
				out = strings.Split(prefix[:i], "\n")
				prefix = prefix[i+1:]
			}
			lines := Lines(inner)
			for i := range lines {
				lines[i] = prefix + lines[i]
			}
			return append(out, lines...)
		}
	}
	return strings.Split(msg, "\n") // a text we cannot take apart
}

// isJoin reports whether msg is the texts of errs, one per line, as
// errors.Join writes them.
func isJoin(msg string, errs []error) bool {
	var b strings.Builder
	n := 0
	for _, e := range errs {
		if e == nil {
			continue
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
		n++
	}
	return n > 0 && b.String() == msg
}
