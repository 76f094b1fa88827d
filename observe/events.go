package observe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// The event stream's pacing.
const (
	// minGap is the least time between two updates of a stream: changes
	// within it are sent together.
	minGap = 100 * time.Millisecond
	// keepAlive is the time between comments sent on an idle stream, so
	// that a client gone away is noticed.
	keepAlive = 15 * time.Second
	// writeTimeout bounds each write to a stream: a client that reads
	// nothing for that long loses its stream.
	writeTimeout = 10 * time.Second
	// maxEvents is the number of supervisor events kept (the handler's
	// recent ones, and those a stream has yet to send): older ones are
	// dropped.
	maxEvents = 64
)

// live is the handler's observer of the tree and its event streams. Its
// zero value is ready; the observer is attached by the first request.
type live struct {
	mu       sync.Mutex
	attached bool
	closed   bool
	err      error  // Observe's error: every request reports it
	detach   func() // service.Observe's
	done     chan struct{}
	subs     map[*subscriber]struct{}
	nsubs    atomic.Int32 // len(subs), read without mu
	crashes  map[service.Service]crashRec
	pruneAt  int             // len(crashes) that calls for a prune
	root     service.Service // the tree observed, once attached
	recent   eventRing       // the last supervisor events
	streams  int             // serveEvents calls under way
	idle     chan struct{}   // closed when streams drops to 0 after Close
}

// crashRec is what the observer saw of a service's crashes.
type crashRec struct {
	at    time.Time
	count int64
}

// eventRec is a supervisor event as the observer got it: its reason is
// formatted when it is sent, not on the engine's goroutine.
type eventRec struct {
	at time.Time
	e  supervisor.Event
}

// eventJSON is a supervisor event on the page:
//
//	{"at": "...", "kind": "child crashed", "supervisor": "root",
//	 "child": "db", "reason": "boom", "restarts": 1, "delay": "1s"}
type eventJSON struct {
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Supervisor string    `json:"supervisor"`
	Child      string    `json:"child,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Restarts   int       `json:"restarts"`
	Delay      string    `json:"delay,omitempty"`
}

func (r eventRec) json() eventJSON {
	j := eventJSON{At: r.at.UTC(), Kind: r.e.Kind.String(), Supervisor: r.e.Supervisor, Child: r.e.Child, Restarts: r.e.RestartCount}
	if r.e.Reason != nil {
		j.Reason = r.e.Reason.Error()
	}
	if r.e.Delay > 0 {
		j.Delay = r.e.Delay.String()
	}
	return j
}

// subscriber is one event stream's pending news: the services changed
// since its last update (true: crashed, to flash), the supervisor events,
// and whether the tree's shape changed. It is bounded by the tree's size
// and maxEvents however slowly the client reads.
type subscriber struct {
	wake    chan struct{} // capacity 1: a pending wake
	dirty   map[service.Service]bool
	events  eventRing
	dropped int
	reshape bool
}

// updateJSON is the data of an "update" event of the stream:
//
//	{"t": 1796148000000000, "nodes": [{node without path, names nor children}, ...],
//	 "flash": ["<key>", ...], "events": [{event}, ...],
//	 "dropped": 0, "reshape": false}
//
// flash names the services that crashed since the last update; dropped
// counts the events left out because the client read too slowly; reshape
// says that services were removed: the page reloads the tree. The page
// also reloads it when an update names a key it does not know (a service
// added).
type updateJSON struct {
	T       int64       `json:"t"` // when it was taken, as treeDoc's
	Nodes   []*nodeJSON `json:"nodes"`
	Flash   []string    `json:"flash,omitempty"`
	Events  []eventJSON `json:"events,omitempty"`
	Dropped int         `json:"dropped,omitempty"`
	Reshape bool        `json:"reshape,omitempty"`
}

// observer is what the handler attaches to its Root. Its calls never
// block on anything but l.mu, held only for map updates.
type observer struct{ l *live }

var _ supervisor.EventObserver = observer{}

// StateChanged marks s changed for every stream and records crashes.
func (o observer) StateChanged(s service.Service, _, to service.State) {
	l := o.l
	var now time.Time
	if to == service.Crashed {
		now = time.Now()
	} else if l.nsubs.Load() == 0 {
		return // nothing to record, no stream to tell
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	crashed := to == service.Crashed
	if crashed {
		if l.crashes == nil {
			l.crashes = map[service.Service]crashRec{}
		}
		r := l.crashes[s]
		l.crashes[s] = crashRec{at: now, count: r.count + 1}
		if len(l.crashes) >= l.pruneAt { // amortized: as many records as services, however many come and go
			l.pruneLocked()
		}
	}
	for sub := range l.subs {
		sub.dirty[s] = sub.dirty[s] || crashed
		sub.poke()
	}
}

// SupervisorEvent marks sup changed for every stream and hands them e.
func (o observer) SupervisorEvent(sup *supervisor.Supervisor, e supervisor.Event) {
	l := o.l
	r := eventRec{at: time.Now(), e: e}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recent.push(r)
	for sub := range l.subs {
		if sub.events.push(r) {
			sub.dropped++
		}
		if _, ok := sub.dirty[sup]; !ok {
			sub.dirty[sup] = false
		}
		sub.reshape = sub.reshape || e.Kind == supervisor.ChildRemoved
		sub.poke()
	}
}

// eventRing holds the last maxEvents events. Its zero value is empty.
type eventRing struct {
	buf   [maxEvents]eventRec
	first int // index of the oldest
	n     int
}

// push adds r, dropping the oldest if full (and reporting it).
func (g *eventRing) push(r eventRec) (dropped bool) {
	if g.n == maxEvents {
		g.buf[g.first] = r
		g.first = (g.first + 1) % maxEvents
		return true
	}
	g.buf[(g.first+g.n)%maxEvents] = r
	g.n++
	return false
}

// list returns the events, oldest first.
func (g *eventRing) list() []eventRec {
	out := make([]eventRec, g.n)
	for i := range out {
		out[i] = g.buf[(g.first+i)%maxEvents]
	}
	return out
}

// poke wakes the stream's writer without waiting.
func (sub *subscriber) poke() {
	select {
	case sub.wake <- struct{}{}:
	default:
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
		l.attached, l.root = true, root
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

// subscribe registers a stream, or returns ErrClosed.
func (l *live) subscribe(root service.Service) (*subscriber, <-chan struct{}, error) {
	if err := l.attach(root); err != nil {
		return nil, nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, ErrClosed
	}
	sub := &subscriber{wake: make(chan struct{}, 1), dirty: map[service.Service]bool{}}
	if l.subs == nil {
		l.subs = map[*subscriber]struct{}{}
	}
	l.subs[sub] = struct{}{}
	l.nsubs.Store(int32(len(l.subs)))
	l.streams++
	return sub, l.doneLocked(), nil
}

// unsubscribe drops a stream.
func (l *live) unsubscribe(sub *subscriber) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.subs, sub)
	l.nsubs.Store(int32(len(l.subs)))
	l.streams--
	if l.streams == 0 && l.idle != nil {
		close(l.idle)
		l.idle = nil
	}
}

// take returns and clears sub's pending news.
func (l *live) take(sub *subscriber) (dirty map[service.Service]bool, events []eventRec, dropped int, reshape bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	dirty, events, dropped, reshape = sub.dirty, sub.events.list(), sub.dropped, sub.reshape
	sub.dirty, sub.events, sub.dropped, sub.reshape = make(map[service.Service]bool, len(dirty)), eventRing{}, 0, false
	return
}

// crashCopy returns a copy of the crash records, first dropping those
// of services no longer in root's tree (removed or replaced), so that the
// records stay as many as the tree's services.
func (l *live) crashCopy() map[service.Service]crashRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruneLocked()
	m := make(map[service.Service]crashRec, len(l.crashes))
	for s, r := range l.crashes {
		m[s] = r
	}
	return m
}

// pruneLocked drops the crash records of services no longer in the tree
// (removed, or replaced). l.mu is held.
func (l *live) pruneLocked() {
	for s := range l.crashes {
		if !under(s.Node(), l.root.Node()) {
			delete(l.crashes, s)
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
	l.mu.Lock()
	rs := l.recent.list()
	l.mu.Unlock()
	out := make([]eventJSON, len(rs))
	for i, r := range rs {
		out[i] = r.json()
	}
	return out
}

// close detaches the observer, ends the streams and waits for them, at
// most writeTimeout and a second.
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

// Close detaches the handler from the tree, ends its event streams and
// waits for them to return: at once, but for a stream blocked writing to
// a client that reads nothing, which the write's 10-second deadline ends
// (Close waits 11 seconds at most, in case the ResponseWriter has no
// deadlines). Later requests for the page's
// data get 503 Service Unavailable with ErrClosed. Close is safe to call
// more than once and concurrently with requests; it returns nil.
func (h *Handler) Close() error {
	h.live.close()
	return nil
}

// serveEvents streams the tree's changes as server-sent events: an
// "update" event (updateJSON) at most every minGap while something
// changes, a comment every keepAlive while nothing does. It returns when
// the request's context ends, the client stops reading, or the handler is
// closed.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	sub, done, err := h.live.subscribe(h.Root)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
		return
	}
	defer h.live.unsubscribe(sub)
	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // unsupported: unbounded, as the server is
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte(": stream of the tree's changes\nretry: 2000\n\n")) {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	gap := time.NewTimer(0)
	defer gap.Stop()
	var buf bytes.Buffer
	ctx := r.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-ping.C:
			if !send([]byte(": ping\n\n")) {
				return
			}
			continue
		case <-sub.wake:
		}
		select { // pace: what changes meanwhile is sent with this
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-gap.C:
		}
		u := h.update(sub)
		if len(u.Nodes) == 0 && len(u.Events) == 0 && u.Dropped == 0 && !u.Reshape {
			gap.Reset(0) // nothing sent: no pause owed
			continue     // a wake for news an earlier update took
		}
		buf.Reset()
		buf.WriteString("event: update\ndata: ")
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(u); err != nil {
			return
		}
		buf.WriteString("\n") // Encode ended the data line; this ends the event
		if !send(buf.Bytes()) {
			return
		}
		gap.Reset(minGap)
	}
}

// update builds sub's next update from its pending news.
func (h *Handler) update(sub *subscriber) updateJSON {
	t := time.Now().UnixMicro()
	dirty, events, dropped, reshape := h.live.take(sub)
	sn := newSnapper(h.live.crashCopy())
	u := updateJSON{T: t, Nodes: make([]*nodeJSON, 0, len(dirty)), Dropped: dropped, Reshape: reshape}
	for s, crashed := range dirty {
		n := sn.node(s)
		u.Nodes = append(u.Nodes, n)
		if crashed {
			u.Flash = append(u.Flash, n.Key)
		}
	}
	for _, r := range events {
		u.Events = append(u.Events, r.json())
	}
	return u
}
