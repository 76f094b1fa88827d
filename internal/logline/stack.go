package logline

import (
	"bytes"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Stack adds a panic's stack to e, once per distinct stack: the first time
// it is logged as stack=[frames...], one element per frame "function
// file:line", from the function that panicked down; every later line with
// the same frames (the same panic passed on: a crash reason wrapped by a
// supervisor, a failed start; or the same code panicking again: a child
// that keeps crashing the same way) as stack_seen=<how many times it came,
// this one included> instead. The stack is printed again, beside its
// count, once ReprintAfter has passed since it was last printed, so that
// the log of the last hours of a long-running daemon has it. Stacks are
// told apart by a hash of their frames, without argument values, offsets
// and goroutine numbers. A disabled e costs nothing.
func Stack(e *zerolog.Event, stack []byte) *zerolog.Event {
	if !e.Enabled() || len(stack) == 0 {
		return e
	}
	frames := Frames(stack)
	h := fnv.New64a()
	for _, f := range frames {
		h.Write([]byte(f))
		h.Write([]byte{'\n'})
	}
	n, again := seen.note(h.Sum64(), time.Now())
	if n > 1 {
		e = e.Int("stack_seen", n)
	}
	if again {
		e = e.Strs("stack", frames)
	}
	return e
}

// Frames turns a stack as runtime/debug.Stack writes it into one element
// per frame, "function file:line", without argument values and program
// counter offsets (which differ from one panic to the next). Frames above
// the panic (the recovery's) are left out. The runtime's note on a deep
// stack ("...N frames elided...") is kept as an element of its own.
func Frames(stack []byte) []string {
	lines := strings.Split(string(bytes.TrimSpace(stack)), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "goroutine ") {
		lines = lines[1:]
	}
	var out []string
	for i := 0; i < len(lines); i++ {
		fn := lines[i]
		if fn == "" || fn[0] == '\t' {
			continue // a location without its function
		}
		loc := ""
		if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			i++
			loc = " " + cutOffset(strings.TrimSpace(lines[i]))
		}
		switch {
		case strings.HasPrefix(fn, "panic("):
			out = out[:0] // what came before is the recovery
			continue
		case strings.HasPrefix(fn, "created by "):
			if j := strings.Index(fn, " in goroutine "); j > 0 {
				fn = fn[:j]
			}
		case strings.HasSuffix(fn, ")"):
			if j := strings.LastIndexByte(fn, '('); j > 0 {
				fn = fn[:j]
			}
		}
		out = append(out, fn+loc)
	}
	return out
}

// cutOffset drops " +0x1d" from "file.go:12 +0x1d".
func cutOffset(loc string) string {
	if j := strings.LastIndex(loc, " +0x"); j > 0 {
		return loc[:j]
	}
	return loc
}

// maxKeys bounds the stacks remembered: past it all are forgotten, and
// each is printed again the next time it comes.
const maxKeys = 4096

// ReprintAfter is how long a stack already printed is summarised as
// stack_seen=<n> before it is printed in full again.
const ReprintAfter = 10 * time.Minute

// stacks remembers, by hash, how many times each stack was logged and
// when it was last printed in full.
type stacks struct {
	mu sync.Mutex
	n  map[uint64]*seenStack
}

type seenStack struct {
	count   int
	printed time.Time
}

var seen stacks

// note counts one more line with the stack of hash at now, and returns the
// count and whether to print the stack in full: the first time, and once
// ReprintAfter has passed since it was last printed.
func (s *stacks) note(hash uint64, now time.Time) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil || len(s.n) >= maxKeys {
		s.n = make(map[uint64]*seenStack)
	}
	st := s.n[hash]
	if st == nil {
		st = &seenStack{}
		s.n[hash] = st
	}
	st.count++
	if st.count == 1 || now.Sub(st.printed) >= ReprintAfter {
		st.printed = now
		return st.count, true
	}
	return st.count, false
}
