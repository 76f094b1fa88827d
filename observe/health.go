package observe

import "net/http"

// STUB: replaced by the health endpoints' implementation.

func (h *Handler) serveHealthz(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}
func (h *Handler) serveReadyz(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}
