package logline_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/internal/logline"
	"github.com/rs/zerolog"
)

func TestRound(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{73881233 * time.Nanosecond, "74ms"},
		{1500 * time.Millisecond, "1.5s"},
		{10*time.Second + 123*time.Microsecond, "10s"},
		{249600 * time.Nanosecond, "250µs"},
		{0, "0s"},
		{-73881233 * time.Nanosecond, "-74ms"},
	} {
		if got := logline.Round(tt.d).String(); got != tt.want {
			t.Errorf("Round(%v) = %s, want %s", tt.d, got, tt.want)
		}
	}
}

func TestLines(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	for _, tt := range []struct {
		name string
		err  error
		want []string
	}{
		{"nil", nil, nil},
		{"one", a, []string{"a"}},
		{"join", errors.Join(a, b), []string{"a", "b"}},
		{"wrapped join", fmt.Errorf("x: stop: %w", errors.Join(a, b)), []string{"x: stop: a", "x: stop: b"}},
		{"nested", fmt.Errorf("p: stop: %w", errors.Join(fmt.Errorf("c: %w", errors.Join(a, b)), c)),
			[]string{"p: stop: c: a", "p: stop: c: b", "p: stop: c"}},
		{"two wraps, one line", fmt.Errorf("%w: %w", a, b), []string{"a: b"}},
		{"text with a newline", errors.New("l1\nl2"), []string{"l1", "l2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := logline.Lines(tt.err)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("Lines = %q, want %q", got, tt.want)
			}
		})
	}
}

func decode(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestErrAndDur(t *testing.T) {
	var buf bytes.Buffer
	l := zerolog.New(&buf)
	ev := func() *zerolog.Event { return logline.Dur(l.Warn().Str("k", "v"), "took", 1234567*time.Nanosecond) }
	logline.Err(ev, errors.New("single"), "one")
	logline.Err(ev, fmt.Errorf("s: stop: %w", errors.Join(errors.New("a"), errors.New("b"))), "two")
	lines := decode(t, &buf)
	want := []string{"single", "s: stop: a", "s: stop: b"}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, m := range lines {
		if m["error"] != want[i] || m["k"] != "v" || m["took"] != "1ms" {
			t.Errorf("line %d: %v, want error=%q k=v took=1ms", i, m, want[i])
		}
	}
	buf.Reset()
	off := zerolog.New(&buf).Level(zerolog.ErrorLevel)
	calls := 0
	logline.Err(func() *zerolog.Event { calls++; return off.Warn() }, errors.Join(errors.New("a"), errors.New("b")), "x")
	if buf.Len() != 0 || calls != 1 {
		t.Errorf("disabled level: wrote %q, called ev %d times; want nothing, once", buf.String(), calls)
	}
}

//go:noinline
func panicky() { panic("boom") }

func stackOfPanic() (stack []byte) {
	defer func() {
		recover()
		stack = debug.Stack()
	}()
	panicky()
	return nil
}

func TestFramesAndStackOnce(t *testing.T) {
	frames := logline.Frames(stackOfPanic())
	if len(frames) == 0 || !strings.HasPrefix(frames[0], "github.com/gomode/mode/internal/logline_test.panicky ") ||
		!strings.Contains(frames[0], "logline_test.go:") {
		t.Fatalf("frames %q, want the panicking function first, with its file:line", frames)
	}
	for _, f := range frames {
		if strings.Contains(f, "+0x") || strings.Contains(f, "goroutine ") || strings.Contains(f, "debug.Stack") {
			t.Errorf("frame %q has an offset, a goroutine number or the recovery", f)
		}
	}
	var buf bytes.Buffer
	l := zerolog.New(&buf)
	for range 3 {
		logline.Stack(l.Error(), stackOfPanic()).Msg("crashed") // same frames each time
	}
	lines := decode(t, &buf)
	seen := 1.0 // stacks are remembered for the process: -count>1 sees them again
	if n, ok := lines[0]["stack_seen"].(float64); ok {
		seen = n
	} else if _, ok := lines[0]["stack"].([]any); !ok {
		t.Errorf("first line: %v, want a stack", lines[0])
	}
	for i, m := range lines[1:] {
		if _, ok := m["stack"]; ok || m["stack_seen"] != seen+float64(i+1) {
			t.Errorf("line %d: %v, want stack_seen=%v and no stack", i+2, m, seen+float64(i+1))
		}
	}
}

//go:noinline
func recurse(n int) {
	if n == 0 {
		panic("deep")
	}
	recurse(n - 1)
}

func stackOfDeepPanic() (stack []byte) {
	defer func() {
		recover()
		stack = debug.Stack()
	}()
	recurse(200)
	return nil
}

// TestFramesShapes feeds Frames the shapes runtime tracebacks take: every
// element must be "function file:line" (or the runtime's own note that
// frames were elided), never a file taken for a function or the other way
// round.
func TestFramesShapes(t *testing.T) {
	tests := []struct {
		name  string
		stack string
		want  []string
	}{
		{
			name: "plain panic",
			stack: "goroutine 7 [running]:\nruntime/debug.Stack()\n\t/go/debug/stack.go:26 +0x5e\nmain.f.func1()\n\t/x/m.go:19 +0x1c\n" +
				"panic({0x4aa5c0?, 0x4d0330?})\n\t/go/runtime/panic.go:860 +0x13a\nmain.g(0x1, ...)\n\t/x/m.go:11 +0x3e\n" +
				"created by main.main in goroutine 1\n\t/x/m.go:30 +0x25\n",
			want: []string{"main.g /x/m.go:11", "created by main.main /x/m.go:30"},
		},
		{
			name: "deep stack with elided frames",
			stack: "goroutine 1 [running]:\npanic({0x1?, 0x2?})\n\t/go/runtime/panic.go:860 +0x13a\nmain.rec(...)\n\t/x/m.go:11\n" +
				"main.rec(0x0?)\n\t/x/m.go:13 +0x3e\n...105 frames elided...\nmain.rec(0x63?)\n\t/x/m.go:13 +0x3e\nmain.main()\n\t/x/m.go:26 +0x3a\n",
			want: []string{"main.rec /x/m.go:11", "main.rec /x/m.go:13", "...105 frames elided...", "main.rec /x/m.go:13", "main.main /x/m.go:26"},
		},
		{
			name:  "no header, no panic",
			stack: "main.a()\n\t/x/a.go:1 +0x1\nmain.b()\n\t/x/b.go:2\n",
			want:  []string{"main.a /x/a.go:1", "main.b /x/b.go:2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logline.Frames([]byte(tt.stack))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Frames\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	t.Run("real deep recursion", func(t *testing.T) {
		frames := logline.Frames(stackOfDeepPanic())
		elided := 0
		for _, f := range frames {
			if strings.HasPrefix(f, "...") {
				elided++
				continue
			}
			fn, loc, ok := strings.Cut(f, " ")
			if !ok || strings.HasPrefix(fn, "/") || strings.HasPrefix(fn, "\t") || !strings.Contains(loc, ".go:") {
				t.Fatalf("frame %q is not \"function file:line\" (all: %q)", f, frames)
			}
		}
		if elided != 1 || !strings.Contains(frames[0], "logline_test.recurse ") {
			t.Errorf("frames %q: want recurse first and one elision note", frames)
		}
	})
}

//go:noinline
func panicAtDepth(n int) {
	if n > 0 {
		panicAtDepth(n - 1)
	}
	panic("boom again")
}

func stackAtDepth(n int) (stack []byte) {
	defer func() {
		recover()
		stack = debug.Stack()
	}()
	panicAtDepth(n)
	return nil
}

// runs makes each run of TestStackPrintedAgainLater (-count) panic at
// another depth: a stack of its own, unseen by the runs before.
var runs atomic.Int32

// TestStackPrintedAgainLater: a stack seen before is summarised as
// stack_seen for ReprintAfter, then printed in full again (with its
// count), so the log of the last hours has it.
func TestStackPrintedAgainLater(t *testing.T) {
	depth := int(runs.Add(1))
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := zerolog.New(&buf)
		for _, wait := range []time.Duration{0, time.Minute, logline.ReprintAfter, time.Second} {
			time.Sleep(wait)
			logline.Stack(l.Error(), stackAtDepth(depth)).Msg("crashed")
		}
		lines := decode(t, &buf)
		for i, wantStack := range []bool{true, false, true, false} {
			if _, has := lines[i]["stack"]; has != wantStack {
				t.Errorf("line %d: %v, want a full stack: %v", i+1, lines[i], wantStack)
			}
			if n, _ := lines[i]["stack_seen"].(float64); i > 0 && int(n) != i+1 {
				t.Errorf("line %d: %v, want stack_seen=%d", i+1, lines[i], i+1)
			}
		}
	})
}
