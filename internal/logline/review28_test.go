package logline_test

// Review 28: hostile tests of package logline.

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/internal/logline"
	"github.com/rs/zerolog"
)

// r28Multi joins errors with its own separator, not errors.Join's.
type r28Multi []error

func (m r28Multi) Error() string {
	var s []string
	for _, e := range m {
		s = append(s, e.Error())
	}
	return strings.Join(s, "\n---\n")
}
func (m r28Multi) Unwrap() []error { return m }

// TestReview28LinesNeverMultiline: whatever the shape of the error, no
// element of Lines holds a line break (the package's promise: one line per
// error instead of one with newlines inside), and no text is lost. Defect
// found: a wrap whose own text holds a line break (fmt.Errorf("bad\nthing:
// %w", joined)) prefixed every inner line with it, line break included;
// its lines are now lines of their own.
func TestReview28LinesNeverMultiline(t *testing.T) {
	a, b, c := errors.New("a"), errors.New("b"), errors.New("c")
	join := errors.Join(a, b)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"join", join},
		{"join with nils", errors.Join(nil, a, nil, b, nil)},
		{"join of joins", errors.Join(join, errors.Join(c, join))},
		{"wrap of join", fmt.Errorf("x: stop: %w", join)},
		{"wrap of wrap of join", fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", join))},
		{"multi-line prefix", fmt.Errorf("bad\nthing: %w", join)},
		{"multi-line prefix, no join", fmt.Errorf("bad\nthing: %w", a)},
		{"wrap of empty text", fmt.Errorf("x\ny%w", errors.New(""))},
		{"own separator", r28Multi{a, b}},
		{"trailing newline", errors.New("a\n")},
		{"only newlines", errors.New("\n\n")},
		{"CRLF", errors.New("a\r\nb")},
		{"join with a multi-line member", errors.Join(errors.New("m1\nm2"), c)},
	} {
		lines := logline.Lines(tc.err)
		for _, l := range lines {
			if strings.Contains(l, "\n") {
				t.Errorf("%s: Lines = %q: an element holds a line break", tc.name, lines)
				break
			}
		}
		for _, word := range strings.Fields(strings.NewReplacer("\n", " ", "\r", " ").Replace(tc.err.Error())) {
			if !strings.Contains(strings.Join(lines, " "), word) {
				t.Errorf("%s: %q lost from %q", tc.name, word, lines)
			}
		}
	}
}

// TestReview28ErrLogsOneLinePerError: Err writes no error field with a
// line break in it.
func TestReview28ErrLogsOneLinePerError(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	logline.Err(log.Error, fmt.Errorf("bad\nthing: %w", errors.Join(errors.New("a"), errors.New("b"))), "stopped")
	logline.Err(log.Error, nil, "nil error")
	logline.Err(log.Debug().Discard, errors.New("x\ny"), "disabled")
	if strings.Contains(buf.String(), `\n`) {
		t.Errorf("an error field holds a line break:\n%s", buf.String())
	}
}

// TestReview28FramesGarbage: Frames on inputs that are not stacks returns
// something sensible and never panics.
func TestReview28FramesGarbage(t *testing.T) {
	for _, s := range []string{
		"", "\n\n", "goroutine 1 [running]:", "\t\t\t", "\xff\xfe\n\t\xff",
		"panic(", "panic(0x1)\n", "created by x in goroutine 1", "f(\n\tfile.go:1 +0x",
		"main.f(...)\n\t +0x1d", "(\n(\n)", strings.Repeat("\t", 1000),
	} {
		_ = logline.Frames([]byte(s))
	}
	if got := logline.Frames([]byte("goroutine 1 [running]:\nmain.f(0x1, 0x2)\n\t/x/y.go:12 +0x1d\n")); len(got) != 1 || got[0] != "main.f /x/y.go:12" {
		t.Fatalf("Frames = %q", got)
	}
}

// TestReview28FramesHuge: a synthetic stack of 200 000 frames (20 MB) is
// split in linear time, every frame kept.
func TestReview28FramesHuge(t *testing.T) {
	const n = 200_000
	var b strings.Builder
	b.WriteString("goroutine 7 [running]:\n")
	pkg := fmt.Sprintf("pkg%d", time.Now().UnixNano()) // a stack not yet seen (-count)
	for i := range n {
		fmt.Fprintf(&b, "%s.fn%d(0x%x, {0x1, 0x2})\n\t/very/long/path/to/some/file%d.go:%d +0x%x\n", pkg, i, i, i, i, i)
	}
	start := time.Now()
	frames := logline.Frames([]byte(b.String()))
	if len(frames) != n || frames[n-1] != fmt.Sprintf("%s.fn%d /very/long/path/to/some/file%d.go:%d", pkg, n-1, n-1, n-1) {
		t.Fatalf("%d frames, last %q", len(frames), frames[len(frames)-1])
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	logline.Stack(log.Error(), []byte(b.String())).Msg("huge")
	if buf.Len() < 10*n {
		t.Fatalf("huge stack logged as %d bytes", buf.Len())
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("took %v", el)
	}
}

// TestReview28StackConcurrent logs the same and different stacks from
// many goroutines (run with -race): each distinct stack is printed in full
// exactly once and counted exactly.
func TestReview28StackConcurrent(t *testing.T) {
	uniq := fmt.Sprintf("r28.%d", time.Now().UnixNano())
	stackOf := func(i int) []byte {
		return []byte(fmt.Sprintf("goroutine 1 [running]:\n%s.f%d()\n\t/x.go:%d +0x1\n", uniq, i, i))
	}
	var mu sync.Mutex
	printed := map[int]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g + i) % 4
				var buf bytes.Buffer
				log := zerolog.New(&buf)
				logline.Stack(log.Error(), stackOf(k)).Msg("x")
				if strings.Contains(buf.String(), `"stack":[`) {
					mu.Lock()
					printed[k]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for k := range 4 {
		if printed[k] != 1 {
			t.Errorf("stack %d printed %d times, want 1", k, printed[k])
		}
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	logline.Stack(log.Error(), stackOf(0)).Msg("x")
	if !strings.Contains(buf.String(), `"stack_seen":401`) {
		t.Errorf("count: %s", buf.String())
	}
	logline.Stack(nil, stackOf(0))         // disabled event: nothing
	logline.Stack(log.Error(), nil).Send() // no stack: nothing added
}

// TestReview28RoundExtremes: rounding the ends of the Duration range
// saturates instead of wrapping, and keeps the sign.
func TestReview28RoundExtremes(t *testing.T) {
	for _, d := range []time.Duration{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, -time.Millisecond, -999 * time.Microsecond, 1, -1} {
		r, s := logline.Round(d), logline.Short(d)
		if (d > 0 && r < 0) || (d < 0 && r > 0) {
			t.Errorf("Round(%d) = %d changed sign", d, r)
		}
		if s < 0 || (d > 0 && s < 0) {
			t.Errorf("Short(%d) = %d", d, s)
		}
		if d <= 0 && s != 0 {
			t.Errorf("Short(%d) = %v, want 0", d, s)
		}
	}
	var buf bytes.Buffer
	log := zerolog.New(&buf)
	logline.Dur(log.Info(), "d", math.MinInt64).Send()
	logline.Dur(nil, "d", 1).Send()
	if !strings.Contains(buf.String(), `"d":"-2562047h47m16.854775808s"`) { // saturated, not wrapped
		t.Errorf("Dur(MinInt64): %s", buf.String())
	}
}
