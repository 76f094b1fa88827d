package supervisor

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/service"
)

var _ service.Dumper = (*Supervisor)(nil)

// DumpInfo is the supervisor's part of service.Dump: its strategy and the
// restarts its intensity window holds now against its limit, then one
// line per child whose restart waits out a backoff, with when it is due:
//
//	strategy one_for_one, restarts 2 of 3 in 5s
//	child pool: restart due in 1.2s
//
// It reads a snapshot under the supervisor's lock, which is never held
// while user code runs: it answers while the supervisor's goroutine hangs
// in a child's hook.
func (s *Supervisor) DumpInfo() []string {
	in := s.spec.intensity().Normalize()
	s.mu.Lock()
	now := s.now
	s.mu.Unlock()
	var at time.Time
	if now != nil {
		at = now() // the clock's own lock, if any: not under s.mu
	}
	type due struct {
		id string
		in time.Duration
	}
	var dues []due
	used := 0
	s.mu.Lock()
	if s.window != nil && now != nil {
		used = s.window.Len(at)
	}
	for _, w := range s.waiting {
		for _, c := range w.members {
			dues = append(dues, due{c.ID(), w.due.Sub(at)})
		}
	}
	s.mu.Unlock()
	line := "strategy " + s.spec.Strategy.String() + ", "
	if in.Never {
		line += "never restarts"
	} else {
		line += fmt.Sprintf("restarts %d of %d in %v", used, in.MaxRestarts, logline.Short(in.Window))
	}
	out := []string{line}
	sort.SliceStable(dues, func(i, j int) bool { return dues[i].in < dues[j].in })
	for _, d := range dues {
		out = append(out, "child "+d.id+": restart due in "+logline.Short(d.in).String())
	}
	if n := s.spec.MaxChildren; n > 0 {
		s.mu.Lock()
		have := len(s.children)
		s.mu.Unlock()
		out = append(out, "children "+strconv.Itoa(have)+" of at most "+strconv.Itoa(n))
	}
	return out
}

// record records what befell c, under s.mu so that Children and a dump
// read it: its crash reason (if crash is set), and, when counts is set, a
// restart in the intensity window (strategy.Window.Allow); it reports
// whether that restart is allowed. An exit is recorded before anything is
// done about it (OTP adds the restart before its stops), a failed restart
// attempt when it fails. Called on the supervisor's goroutine only.
func (s *Supervisor) record(c *child, crash error, counts bool) bool {
	if crash == nil && !counts {
		return true
	}
	var at time.Time
	if counts {
		at = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if crash != nil {
		c.lastReason = crash
	}
	return !counts || s.window.Allow(at)
}
