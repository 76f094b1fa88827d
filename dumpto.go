package mode

import (
	"io"
	"time"
)

// dumpWait bounds how long Run waits, as it returns, for a write to DumpTo
// still in progress (a dump, the forced exit's list) before abandoning it.
const dumpWait = time.Second

// dump writes Worker.Dump to DumpTo on a goroutine, so that a DumpTo that
// blocks (a full pipe nobody reads) does not make the Worker deaf to stop
// signals. One write at a time: a dump asked while the last one is still
// being written is skipped.
func (r *runner) dump() {
	select {
	case r.writing <- struct{}{}:
	default:
		r.log.Warn().Msg("dump signal: the last dump is still being written to DumpTo: skipped")
		return
	}
	go func() {
		defer func() { <-r.writing }()
		r.w.dump()
	}()
}

// write writes s to DumpTo after the dump in progress, if any, on a
// goroutine, and waits for it (or only starts it, unless wait) at most
// dumpWait in all: Run is about to return.
func (r *runner) write(s string, wait bool) {
	limit := time.NewTimer(dumpWait)
	defer limit.Stop()
	select {
	case r.writing <- struct{}{}:
	case <-limit.C:
		r.log.Error().Msg("DumpTo blocks: what was still running is not written to it")
		return
	}
	done := make(chan struct{})
	go func() {
		defer func() { <-r.writing; close(done) }()
		_, _ = io.WriteString(r.w.dumpTo(), s)
	}()
	if !wait {
		return
	}
	select {
	case <-done:
	case <-limit.C:
		r.log.Error().Msg("DumpTo blocks: the write to it is abandoned")
	}
}

// joinDump waits, at most dumpWait, for a dump still being written, as
// Run returns (after a clean stop: nothing of Run's is left running
// unless logged as abandoned).
func (r *runner) joinDump() {
	select {
	case r.writing <- struct{}{}:
		<-r.writing
	case <-time.After(dumpWait):
		r.log.Error().Msg("DumpTo blocks: the dump being written to it is abandoned")
	}
}
