package observe

import (
	"net/http"
	"sync"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// Handler serves the live page and the endpoints of the tree under Root,
// to be mounted on an application's own mux (or served by Server):
//
//	/                  the live page (its assets under /page/)
//	/events            the page's server-sent events
//	/healthz           liveness (JSON)
//	/readyz            readiness (JSON)
//	/debug/tree.json   the tree with live state
//	/debug/tree.dot    the same, in Graphviz dot
//	/debug/tree.mmd    the same, in Mermaid
//	/control/...       restart or terminate a child (off unless Controls)
//
// The page and its assets are embedded (no CDN, no build step) and use
// relative URLs, so the handler can be mounted under a prefix with
// http.StripPrefix.
//
// /debug/tree.json is one object: "at", "services" (their number),
// "controls", "token_required", "events" (the last supervisor events) and
// "root", a node: "key", "parent" (its key), "path" (the ShortLabels from
// the root, as everywhere in this package), "id" (its child ID), "label",
// "name", "type", "state", "restarts", "flags", "tasks", "timers" (name,
// workers, runs, failures, skipped, drifts, overlaps), "crash" (reason,
// at, count), "supervisor" (strategy, restarts_used, max_restarts,
// window, never_restart, info: its DumpInfo lines), "terminated",
// "children". Empty fields are left out. The dot and Mermaid renderings
// label each service with its label, state, restart count and flags.
//
// /events sends an "update" event, at most every 100ms while the tree
// changes (and within 2s of what changes without a state change or a
// supervisor event: a timer's runs, tasks, flags, and a service that stays
// Starting or Stopping, states a restart passes through), whose data is {"t",
// "nodes": [nodes without path, names nor children, for the services
// changed], "flash": [keys of those that crashed], "events": [supervisor
// events], "dropped", "reshape": true when services were removed}. What a
// stream has yet to send is bounded by the tree's size and 64 events,
// however slowly its client reads; the tree's goroutines never wait for
// it. A Handler serves 8 streams at once (503 with ErrTooManyStreams
// beyond; the page tries again 3s later), each costing the process at most
// about 1% of a core however fast the tree changes: a stream waits 100
// times as long as its last look at the tree took before the next, when
// that is longer than 100ms, and at most 2s (a look at 1,000 services
// takes about a millisecond on an idle core: their page updates every
// 0.1s, and every few tenths of a second under a crash storm; a tree
// whose look takes more than 20ms is looked at every 2s, at more than 1%
// of a core, and one whose look takes more than 80ms every 25 times its
// look, at 4%). Error texts (crash reasons, failures) are cut
// to 1 KiB. The times of crashes and events are read from a clock the
// handler reads every 10ms while they come (the engine's goroutines read
// none), so each is at most about 10ms early.
//
// POST /control/restart?id=... and /control/terminate?id=... restart
// (Supervisor.RestartChild, or the child's own Restart if it runs) or
// terminate (Supervisor.Terminate) the supervised child that id names
// (its path, else its key, label, name or child ID if only one service
// has it), answering {"action", "id", "ok", "error"}: 403 when Controls is
// off or the request is not authorized (see Token), 404 for an unknown id
// or action, 409 for an ambiguous id, a child not supervised or a
// supervisor not running (starting or stopping included: refused at once,
// rather than waiting for a start or stop that a hung hook holds up) and
// a restart that failed (the child's start failed, or a stop won), 503
// when the request ended first, 504 past ControlTimeout; never 500. A
// terminate whose child's stop returned an error (a crash that came as it
// was stopped) has still terminated it: 200, "ok" true, with the error.
//
// Its zero value with Root set is ready; Root must be set before the first
// request, which attaches the handler's observer to the tree
// (service.Observe). Close it when done: it detaches from the tree and
// ends the event streams. A Handler must not be copied after first use.
type Handler struct {
	// Root is the tree to show. Required.
	Root service.Service
	// Controls enables the restart and terminate controls. Off by
	// default. Served on an address that is not loopback, they also need
	// Token.
	Controls bool
	// Token, when set, must be sent by every control request as
	// "Authorization: Bearer <Token>" (compared in constant time). When it
	// is empty, controls are served only on a loopback address, to
	// requests whose Host names it (localhost, a .localhost name or a
	// loopback IP: a page rebound to 127.0.0.1 by its DNS is refused). Control
	// requests from another site's page (Sec-Fetch-Site, Origin) are
	// refused either way. Behind a reverse proxy or a sidecar on the same
	// host, every request arrives on loopback: set a Token there.
	Token string
	// ControlTimeout bounds a control action (with the request's
	// context). Default 30s.
	ControlTimeout time.Duration
	// Log receives a line for each control action, naming who asked.
	// Default: Root's logger.
	Log *zerolog.Logger

	once  sync.Once
	mux   *http.ServeMux
	live  live   // the page's observer and event streams
	ready readyz // the /readyz check in progress, shared
}

// ServeHTTP serves the routes listed on Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.once.Do(h.init)
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) init() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.servePage)
	m.HandleFunc("GET /page/{file}", h.serveAsset)
	m.HandleFunc("GET /events", h.serveEvents)
	m.HandleFunc("GET /healthz", h.serveHealthz)
	m.HandleFunc("GET /readyz", h.serveReadyz)
	m.HandleFunc("GET /debug/tree.json", h.serveTreeJSON)
	m.HandleFunc("GET /debug/tree.dot", h.serveTreeDot)
	m.HandleFunc("GET /debug/tree.mmd", h.serveTreeMermaid)
	m.HandleFunc("POST /control/{action}", h.serveControl)
	h.mux = m
}
