package observe

import (
	"bytes"
	"encoding/json"
	"net/http"
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
	// pace is how many times a stream's last look (and the encoding of
	// its update) it waits before the next, when that is longer than
	// minGap and shorter than refresh: 100 makes a stream cost at most 1%
	// of a core.
	pace = 100
	// minPace is how many times a stream's last look it waits at least,
	// refresh or not: a stream costs at most 4% of a core however large
	// the tree (a look that takes more than refresh/minPace, 80ms, makes
	// the page lag more than refresh).
	minPace = 25
	// refresh is the time between a quiet stream's looks at the tree:
	// what changes without a state change or a supervisor event (a
	// timer's runs, a task a running service starts, a flag, a
	// supervisor's intensity as its window slides) wakes nobody.
	refresh = 2 * time.Second
	// keepAlive is the time between comments sent on an idle stream, so
	// that a client gone away is noticed.
	keepAlive = 15 * time.Second
	// writeTimeout bounds each write to a stream: a client that reads
	// nothing for that long loses its stream.
	writeTimeout = 10 * time.Second
	// maxStreams is the number of event streams (open pages) a Handler
	// serves at once; another gets 503 with ErrTooManyStreams. Each costs
	// the process at most 1% of a core, 4% on a tree a look at which takes
	// more than 20ms (see serveEvents).
	maxStreams = 8
	// maxEvents is the number of supervisor events kept (the handler's
	// recent ones, and those a stream has yet to send): older ones are
	// dropped.
	maxEvents = 64
)

// crashRec is what the observer saw of a service's crashes.
type crashRec struct {
	at    moment // of the last one
	count int64
}

// eventRec is a supervisor event as the observer got it: its reason is
// formatted when it is sent, not on the engine's goroutine.
type eventRec struct {
	at moment
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

// json is r for the page; base is the handler's attach time.
func (r eventRec) json(base time.Time) eventJSON {
	j := eventJSON{At: r.at.time(base).UTC(), Kind: r.e.Kind.String(), Supervisor: r.e.Supervisor, Child: r.e.Child, Restarts: r.e.RestartCount}
	if r.e.Reason != nil {
		j.Reason = reasonText(r.e.Reason)
	}
	if r.e.Delay > 0 {
		j.Delay = r.e.Delay.String()
	}
	return j
}

// updateJSON is the data of an "update" event of the stream:
//
//	{"t": 1796148000000000, "nodes": [{node without path, names nor children}, ...],
//	 "flash": ["<key>", ...], "events": [{event}, ...],
//	 "dropped": 0, "reshape": false}
//
// nodes are the services whose snapshot changed since the last update
// (a service that crashed and was restarted in between is among them: its
// restart count and crash changed); flash names those that crashed since
// the last update; dropped counts the supervisor events left out because
// more came between two updates than the handler keeps (64); reshape
// says that services were removed: the page reloads the tree. The page
// also reloads it when an update names a key it does not know (a service
// added).
type updateJSON struct {
	T       int64             `json:"t"`     // when its look at the tree ended, in treeDoc's unit (treeDoc's is when it began)
	Nodes   []json.RawMessage `json:"nodes"` // nodeJSONs, as scan marshalled them
	Flash   []string          `json:"flash,omitempty"`
	Events  []eventJSON       `json:"events,omitempty"`
	Dropped int               `json:"dropped,omitempty"`
	Reshape bool              `json:"reshape,omitempty"`
}

// Close detaches the handler from the tree, ends its event streams and
// waits for them to return: at once, but for a stream blocked writing to
// a client that reads nothing, which the write's 10-second deadline ends
// (Close waits 11 seconds at most, in case the ResponseWriter has no
// deadlines). It also ends the /readyz check in progress, if any (the
// probes sharing it get a failure), and waits for it. Later requests for
// the page's data get 503 Service Unavailable with ErrClosed. Close is
// safe to call more than once and concurrently with requests; it returns
// nil.
func (h *Handler) Close() error {
	h.ready.close()
	h.live.close()
	return nil
}

// serveEvents streams the tree's changes as server-sent events: an
// "update" event (updateJSON) at most every minGap while something
// changes, a comment every keepAlive while nothing does. A quiet tree is
// looked at every refresh, for what changes without telling (timers,
// tasks, flags). It returns when
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
	h.scan(sub, nil) // what the page's tree.json, asked once the stream is open, shows or precedes
	if !send([]byte(": stream of the tree's changes\nretry: 2000\n\n")) {
		return
	}
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	quiet := time.NewTicker(refresh)
	defer quiet.Stop()
	gap := time.NewTimer(0)
	defer gap.Stop()
	var buf bytes.Buffer
	ctx := r.Context()
	for {
		if h.live.sleep(sub) {
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
			case <-quiet.C: // a look for what changes unannounced
			}
		}
		select { // pace: what changes meanwhile is sent with this
		case <-ctx.Done():
			return
		case <-done:
			return
		case <-gap.C:
		}
		began := time.Now()
		u := h.update(sub)
		empty := len(u.Nodes) == 0 && len(u.Events) == 0 && u.Dropped == 0 && !u.Reshape
		if !empty { // else: changes that show nowhere (a restart's steps, seen done)
			buf.Reset()
			buf.WriteString("event: update\ndata: ")
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(u); err != nil {
				return
			}
			buf.WriteString("\n") // Encode ended the data line; this ends the event
		}
		// The next look waits minGap, or pace times what this one and
		// its encoding took, but no more than refresh: a stream costs the
		// process at most 1% of a core however fast the tree changes,
		// unless a look takes more than refresh/pace (20ms: a tree of
		// tens of thousands of services), and the page lags by at most
		// refresh. It waits minPace times what they took in any case: at
		// most 4% of a core however large the tree.
		took := time.Since(began)
		gap.Reset(max(minGap, min(refresh, pace*took), minPace*took))
		if !empty && !send(buf.Bytes()) {
			return
		}
	}
}

// update builds sub's next update: the services whose snapshot differs
// from the one it sent last, the supervisor events it has not sent.
func (h *Handler) update(sub *subscriber) updateJSON {
	u := updateJSON{Nodes: []json.RawMessage{}}
	events, dropped, crashes := h.live.news(sub)
	u.Dropped = dropped
	u.Reshape = h.scan(sub, crashes, func(n *nodeJSON, b []byte, crashed bool) {
		u.Nodes = append(u.Nodes, b)
		if crashed {
			u.Flash = append(u.Flash, n.Key)
		}
	})
	for _, r := range events {
		u.Events = append(u.Events, r.json(h.live.clock.base))
	}
	// Once the look has ended: the page drops the updates older than the
	// tree.json it drew, and a look that began before tree.json's and
	// ended after it may hold a change tree.json missed.
	u.T = time.Now().UnixMicro()
	return u
}

// scan snapshots every service of the tree and calls changed (if not nil)
// with each whose snapshot differs from what sub last sent (b: the
// snapshot marshalled; crashed: its crash count grew), remembering the
// snapshots. It reports whether services sub had sent are gone from the
// tree. crashes nil reads them.
func (h *Handler) scan(sub *subscriber, crashes map[*graph.Node]crashRec, changed ...func(n *nodeJSON, b []byte, crashed bool)) (gone bool) {
	if crashes == nil {
		crashes = h.live.crashCopy()
	}
	sn := newSnapper(crashes, h.live.clock.base)
	if sub.sent == nil {
		sub.sent = map[*graph.Node]sentNode{}
	}
	sub.looks++
	var visit func(s service.Service)
	visit = func(s service.Service) {
		n := sn.node(s)
		b, err := json.Marshal(n)
		if err != nil {
			return
		}
		key := s.Node()
		prev, had := sub.sent[key]
		cur := sentNode{json: b, crashes: crashes[key].count, look: sub.looks}
		sub.sent[key] = cur
		if len(changed) > 0 && (!had || !bytes.Equal(prev.json, b)) {
			changed[0](n, b, cur.crashes > prev.crashes)
		}
		for _, c := range key.Children() {
			if cs, ok := c.Value().(service.Service); ok {
				visit(cs)
			}
		}
	}
	if h.Root != nil {
		visit(h.Root)
	}
	for key, sent := range sub.sent {
		if sent.look != sub.looks {
			delete(sub.sent, key)
			gone = true
		}
	}
	return gone
}
