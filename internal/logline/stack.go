package logline

import (
	"bytes"
	"hash/fnv"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// Stack adds a panic's stack to e, once per distinct stack and key: the
// first time (and whenever it differs from the last one logged under key)
// as stack=[frames...], one element per frame "function file:line", from
// the function that panicked down; a repeat of the last one logged under
// key as stack_seen=<how many times in a row, this one included> instead.
// key names whose stack it is (a service's path), so that a child that
// keeps panicking the same way, replacement instances included, prints its
// stack once. A disabled e costs nothing.
func Stack(e *zerolog.Event, key string, stack []byte) *zerolog.Event {
	if !e.Enabled() || len(stack) == 0 {
		return e
	}
	frames := Frames(stack)
	h := fnv.New64a()
	for _, f := range frames {
		h.Write([]byte(f))
		h.Write([]byte{'\n'})
	}
	if n := seen.note(key, h.Sum64()); n > 1 {
		return e.Int("stack_seen", n)
	}
	return e.Strs("stack", frames)
}

// Frames turns a stack as runtime/debug.Stack writes it into one element
// per frame, "function file:line", without argument values and program
// counter offsets (which differ from one panic to the next). Frames above
// the panic (the recovery's) are left out.
func Frames(stack []byte) []string {
	lines := strings.Split(string(bytes.TrimSpace(stack)), "\n")
	if len(lines) > 0 && strings.HasPrefix(lines[0], "goroutine ") {
		lines = lines[1:]
	}
	var out []string
	for i := 0; i+1 < len(lines); i += 2 {
		fn, loc := lines[i], strings.TrimSpace(lines[i+1])
		if strings.HasPrefix(fn, "created by ") {
			out = append(out, fn+" "+cutOffset(loc))
			continue
		}
		if strings.HasPrefix(fn, "panic(") {
			out = out[:0] // what came before is the recovery
			continue
		}
		if j := strings.LastIndexByte(fn, '('); j > 0 && strings.HasSuffix(fn, ")") {
			fn = fn[:j]
		}
		out = append(out, fn+" "+cutOffset(loc))
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

// maxKeys bounds the stacks remembered: past it they are forgotten, and
// the next of each is printed again.
const maxKeys = 4096

// stacks remembers, per key, the hash of the last stack logged and how
// many times in a row it came.
type stacks struct {
	mu   sync.Mutex
	last map[string]stackSeen
}

type stackSeen struct {
	hash uint64
	n    int
}

var seen stacks

// note records hash under key and returns how many times in a row it came.
func (s *stacks) note(key string, hash uint64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil || len(s.last) >= maxKeys {
		s.last = make(map[string]stackSeen)
	}
	v := s.last[key]
	if v.hash != hash {
		v = stackSeen{hash: hash}
	}
	v.n++
	s.last[key] = v
	return v.n
}
