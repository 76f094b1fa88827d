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
// Its zero value with Root set is ready; Root must be set before the first
// request. Close it when done: it detaches from the tree and ends the
// event streams.
type Handler struct {
	// Root is the tree to show. Required.
	Root service.Service
	// Controls enables the restart and terminate controls. Off by
	// default. Served on an address that is not loopback, they also need
	// Token.
	Controls bool
	// Token, when set, must be sent by every control request as
	// "Authorization: Bearer <Token>" (compared in constant time). When it
	// is empty, controls are served only on a loopback address. Control
	// requests from another site's page (Sec-Fetch-Site, Origin) are
	// refused either way.
	Token string
	// ControlTimeout bounds a control action (with the request's
	// context). Default 30s.
	ControlTimeout time.Duration
	// Log receives a line for each control action, naming who asked.
	// Default: Root's logger.
	Log *zerolog.Logger

	once sync.Once
	mux  *http.ServeMux
	live live // the page's observer and event streams
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
