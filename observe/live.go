package observe

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// live is the handler's observer of the tree and its event streams. Its
// zero value is ready; the observer is attached by the first request.
//
// The engine's goroutines pay little for it: a state change marks each
// stream dirty (a load once it is) and wakes those that sleep; only a
// crash (its time and count) and a supervisor event (kept in a ring of the
// last maxEvents) take a lock, cmu or emu, for a map or ring update, and
// their time is the coarse clock's (no clock read). A stream finds what
// changed itself: at most every minGap after a change (and every refresh
// when none is announced), it snapshots the tree and sends the services
// whose snapshot differs from the one it sent last. So a crash storm costs
// the engine the same however many pages are open, and what waits for a
// slow client is bounded by the tree's size and maxEvents.
type live struct {
	mu       sync.Mutex
	attached bool
	closed   bool
	err      error  // Observe's error: every request reports it
	detach   func() // service.Observe's
	done     chan struct{}
	root     service.Service // the tree observed, once attached
	streams  int             // serveEvents calls under way
	idle     chan struct{}   // closed when streams drops to 0 after Close

	subs  atomic.Pointer[[]*subscriber] // copy on write, under mu
	clock coarseClock                   // its base is when it attached

	// Two locks of their own, so that the goroutine that crashes a
	// service and the supervisor's, which reports it, do not wait for
	// each other.
	cmu     sync.Mutex // guards crashes and pruneAt
	crashes map[*graph.Node]crashRec
	pruneAt int        // len(crashes) that calls for a prune
	emu     sync.Mutex // guards events
	events  eventRing  // the last supervisor events
}

// subscriber is one event stream: its wake-up and what it sent last.
type subscriber struct {
	wake   chan struct{} // capacity 1: a pending wake
	asleep atomic.Bool   // the writer waits for wake: a change must send one
	dirty  atomic.Bool   // something changed since its last look
	events uint64        // the events it has sent (eventRing.total)
	sent   map[*graph.Node]sentNode
	looks  uint64 // scans of the tree made for it
}

// sentNode is what a stream last sent of a service: the node's JSON and
// the crashes counted then, as of the stream's look that last saw it.
type sentNode struct {
	json    []byte
	crashes int64
	look    uint64 // subscriber.looks then: an older one, and it is gone
}

// observer is what the handler attaches to its Root. Its calls never
// block on anything but l.cmu or l.emu, held only to record a crash or an
// event.
type observer struct{ l *live }

var (
	_ supervisor.EventObserver = observer{}
	_ service.StateFilter      = observer{}
)

// ObservedStates is where services end up: a change to Starting or
// Stopping, which a restart passes through, wakes no stream (a service
// that stays there shows at the next refresh).
func (observer) ObservedStates() []service.State {
	return []service.State{service.Init, service.Running, service.Shutdown, service.Crashed}
}

// StateChanged counts the change, records a crash, and wakes the streams.
func (o observer) StateChanged(s service.Service, _, to service.State) {
	l := o.l
	if to == service.Crashed {
		n := s.Node()
		l.cmu.Lock()
		now := l.clock.read()
		if l.crashes == nil {
			l.crashes = map[*graph.Node]crashRec{}
		}
		r := l.crashes[n]
		l.crashes[n] = crashRec{at: now, count: r.count + 1}
		if len(l.crashes) >= l.pruneAt { // amortized: as many records as services, however many come and go
			l.pruneLocked()
		}
		l.cmu.Unlock()
	}
	l.changed()
}

// SupervisorEvent records e and wakes the streams.
func (o observer) SupervisorEvent(_ *supervisor.Supervisor, e supervisor.Event) {
	l := o.l
	l.emu.Lock()
	l.events.push(eventRec{at: l.clock.read(), e: e})
	l.emu.Unlock()
	l.changed()
}

// changed marks the streams dirty and wakes those that sleep. In a storm
// it only reads: a stream already dirty is left as it is, so the
// goroutines that change the tree do not fight over a cache line.
func (l *live) changed() {
	subs := l.subs.Load()
	if subs == nil {
		return
	}
	for _, sub := range *subs {
		if sub.dirty.Load() {
			continue // marked, and woken if it slept
		}
		sub.dirty.Store(true)
		if sub.asleep.Load() && sub.asleep.Swap(false) {
			select {
			case sub.wake <- struct{}{}:
			default:
			}
		}
	}
}

// attach attaches the observer to root unless done, and reports whether
// the handler is open and attached; else it writes the error to w.
func (h *Handler) attach(w http.ResponseWriter) bool {
	err := h.live.attach(h.Root)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return false
	}
	return true
}

func (l *live) attach(root service.Service) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if !l.attached {
		l.attached, l.root, l.clock.base = true, root, time.Now()
		l.detach, l.err = service.Observe(root, observer{l})
		if l.err != nil {
			l.err = fmt.Errorf("observe: %w", l.err)
		}
	}
	return l.err
}

// doneLocked returns the channel Close closes. l.mu is held.
func (l *live) doneLocked() chan struct{} {
	if l.done == nil {
		l.done = make(chan struct{})
	}
	return l.done
}

// subscribe registers a stream, or returns ErrClosed. Its first update
// sends the services that change after its first look at the tree.
func (l *live) subscribe(root service.Service) (*subscriber, <-chan struct{}, error) {
	if err := l.attach(root); err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, ErrClosed
	}
	if p := l.subs.Load(); p != nil && len(*p) >= maxStreams {
		return nil, nil, ErrTooManyStreams
	}
	l.emu.Lock()
	sub := &subscriber{wake: make(chan struct{}, 1), events: l.events.total}
	l.emu.Unlock()
	l.editSubsLocked(func(subs []*subscriber) []*subscriber { return append(subs, sub) })
	l.streams++
	return sub, l.doneLocked(), nil
}

// unsubscribe drops a stream.
func (l *live) unsubscribe(sub *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.editSubsLocked(func(subs []*subscriber) []*subscriber {
		return slices.DeleteFunc(subs, func(x *subscriber) bool { return x == sub })
	})
	l.streams--
	if l.streams == 0 && l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
}

// editSubsLocked replaces the subscribers by an edited copy. l.mu is
// held.
func (l *live) editSubsLocked(edit func([]*subscriber) []*subscriber) {
	var subs []*subscriber
	if p := l.subs.Load(); p != nil {
		subs = slices.Clone(*p)
	}
	subs = edit(subs)
	l.subs.Store(&subs)
}

// sleep tells the observer that sub's writer waits for a change, unless
// one came since its last look (then it must not wait: false).
func (l *live) sleep(sub *subscriber) bool {
	sub.asleep.Store(true)
	if sub.dirty.Load() {
		sub.asleep.Store(false)
		return false
	}
	return true
}

// news returns the supervisor events sub has not sent, how many it
// missed (more than the ring holds), and a copy of the crash records,
// after noting how far it has looked.
func (l *live) news(sub *subscriber) (events []eventRec, dropped int, crashes map[*graph.Node]crashRec) {
	sub.dirty.Store(false) // before the reads: a later change marks it again
	l.emu.Lock()
	events, dropped = l.events.since(sub.events)
	sub.events = l.events.total
	l.emu.Unlock()
	return events, dropped, l.crashCopy()
}

// crashCopy returns a copy of the crash records, first dropping those of
// services no longer in root's tree (removed or replaced), so that the
// records stay as many as the tree's services.
func (l *live) crashCopy() map[*graph.Node]crashRec {
	l.cmu.Lock()
	defer l.cmu.Unlock()
	l.pruneLocked()
	return maps.Clone(l.crashes)
}

// pruneLocked drops the crash records of services no longer in the tree
// (removed, or replaced). l.cmu is held.
func (l *live) pruneLocked() {
	if l.root == nil {
		return
	}
	top := l.root.Node()
	for n := range l.crashes {
		if !under(n, top) {
			delete(l.crashes, n)
		}
	}
	l.pruneAt = 2*len(l.crashes) + 64
}

// under reports whether n is top or below it.
func under(n, top *graph.Node) bool {
	for ; n != nil; n = n.Parent() {
		if n == top {
			return true
		}
	}
	return false
}

// recentEvents returns the last supervisor events, oldest first.
func (l *live) recentEvents() []eventJSON {
	l.emu.Lock()
	rs, _ := l.events.since(0)
	l.emu.Unlock()
	out := make([]eventJSON, len(rs))
	for i, r := range rs {
		out[i] = r.json(l.clock.base)
	}
	return out
}

// close detaches the observer, stops its clock, ends the streams and
// waits for them, at most writeTimeout and a second.
func (l *live) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		if l.detach != nil {
			l.detach()
		}
		close(l.doneLocked())
	}
	if l.streams > 0 && l.idle == nil {
		l.idle = make(chan struct{})
	}
	idle := l.idle
	l.mu.Unlock()
	l.clock.stop()
	if idle == nil {
		return
	}
	t := time.NewTimer(writeTimeout + time.Second)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
	}
}

// eventRing holds the last maxEvents events, and counts them all. Its
// zero value is empty.
type eventRing struct {
	buf   [maxEvents]eventRec
	total uint64 // events pushed so far
}

// push adds r, overwriting the oldest if full.
func (g *eventRing) push(r eventRec) {
	g.buf[g.total%maxEvents] = r
	g.total++
}

// since returns the events pushed after the first n, oldest first, and
// how many of those the ring no longer holds.
func (g *eventRing) since(n uint64) (events []eventRec, dropped int) {
	first := n
	if g.total > maxEvents && first < g.total-maxEvents {
		first = g.total - maxEvents
	}
	dropped = int(first - n)
	for i := first; i < g.total; i++ {
		events = append(events, g.buf[i%maxEvents])
	}
	return events, dropped
}
