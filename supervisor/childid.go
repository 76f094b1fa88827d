package supervisor

import (
	"fmt"
	"strconv"
	"strings"
)

// A child's ID is its spec's ID, else its configured name (both
// "configured"), else an automatic one: its label (the type name its
// ShortLabel shows) and "#n", n counting the automatic IDs given for that
// label under the supervisor and skipping those a configured ID took.
//
// An automatic ID is kept as its label and n, and its text is made when
// it is first asked for (Children, an event, a log line, an error), so
// that adding a child allocates no string and no map entry: the ids map
// holds configured IDs only, and a lookup of an ID of the automatic form
// (label#n) searches the children.

// autoLabel is one label automatic IDs are made from, under one supervisor
// (Supervisor.seq); its children point to it.
type autoLabel struct {
	label string
	last  int // the last n given
}

// ID returns c's ID. It is fixed when c is registered; an automatic ID's
// text is made on first use (a race to make it stores one of the equal
// texts). Safe for concurrent use once c is among the children.
func (c *child) ID() string {
	if p := c.idText.Load(); p != nil {
		return *p
	}
	if c.auto == nil { // not registered
		return ""
	}
	id := c.auto.label + "#" + strconv.Itoa(c.n)
	c.idText.CompareAndSwap(nil, &id)
	return *c.idText.Load()
}

// hasID reports whether c's ID is id, whose automatic form (if any) was
// split by splitAuto, without making c's ID text.
func (c *child) hasID(id, label string, n int) bool {
	if c.auto == nil {
		return c.spec.ID == id
	}
	return c.n == n && c.auto.label == label
}

// splitAuto splits id into the label and n of an automatic ID, as ID
// makes them (n ≥ 1, decimal digits without a leading zero), reporting
// false when id cannot be one.
func splitAuto(id string) (label string, n int, ok bool) {
	i := strings.LastIndexByte(id, '#')
	digits := id[i+1:]
	if i < 0 || len(digits) == 0 || len(digits) > 18 || digits[0] == '0' {
		return "", 0, false
	}
	for _, d := range []byte(digits) {
		if d < '0' || d > '9' {
			return "", 0, false
		}
		n = n*10 + int(d-'0')
	}
	return id[:i], n, true
}

// byIDLocked returns the child whose ID is id, or nil. s.mu is held.
func (s *Supervisor) byIDLocked(id string) *child {
	if c := s.ids[id]; c != nil {
		return c
	}
	label, n, ok := splitAuto(id)
	if !ok {
		return nil
	}
	for _, c := range s.children {
		if c.auto != nil && c.hasID(id, label, n) {
			return c
		}
	}
	return nil
}

// byID is byIDLocked, taking s.mu.
func (s *Supervisor) byID(id string) *child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byIDLocked(id)
}

// giveIDLocked gives c its ID: the configured c.spec.ID when label is "",
// else an automatic one made from label. It returns ErrDuplicateID when
// the configured ID is taken. s.mu is held.
func (s *Supervisor) giveIDLocked(c *child, label string) error {
	if label == "" {
		id := c.spec.ID
		if s.byIDLocked(id) != nil {
			return fmt.Errorf("%w %q", ErrDuplicateID, id)
		}
		if s.ids == nil {
			s.ids = make(map[string]*child)
		}
		s.ids[id] = c
		if _, _, ok := splitAuto(id); ok {
			s.autoLike++
		}
		return nil
	}
	a := s.seq[label]
	if a == nil {
		if s.seq == nil {
			s.seq = make(map[string]*autoLabel)
		}
		a = &autoLabel{label: label}
		s.seq[label] = a
	}
	for {
		a.last++
		// Only a configured ID of the automatic form can take this one.
		if s.autoLike == 0 || s.ids[label+"#"+strconv.Itoa(a.last)] == nil {
			break
		}
	}
	c.auto, c.n = a, a.last
	return nil
}

// dropIDLocked frees c's ID. s.mu is held.
func (s *Supervisor) dropIDLocked(c *child) {
	if c.auto != nil || s.ids[c.spec.ID] != c {
		return
	}
	delete(s.ids, c.spec.ID)
	if _, _, ok := splitAuto(c.spec.ID); ok {
		s.autoLike--
	}
}
