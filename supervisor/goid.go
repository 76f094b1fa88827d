package supervisor

import (
	"bytes"
	"runtime"
	"strconv"
)

// goid returns the calling goroutine's ID, read from the header of its
// stack trace ("goroutine 42 [running]:"). OnEvent and a Replacement get
// no ctx to carry a mark, so while one runs the supervisor asks this of a
// caller, to tell its own goroutine (which cannot wait for itself) from any
// other (which must wait for its answer). It costs about a microsecond and
// is asked only then.
func goid() uint64 {
	var buf [32]byte
	n := runtime.Stack(buf[:], false)
	b, ok := bytes.CutPrefix(buf[:n], []byte("goroutine "))
	if !ok {
		return 0
	}
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
