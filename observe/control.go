package observe

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// defaultControlTimeout bounds a control action when ControlTimeout is 0.
const defaultControlTimeout = 30 * time.Second

// controlJSON is the body of a control's answer:
//
//	{"action": "restart", "id": "root/db", "ok": true}
//	{"action": "restart", "id": "db", "ok": false, "error": "..."}
type controlJSON struct {
	Action string `json:"action"`
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
}

// serveControl serves POST /control/restart?id=... and
// /control/terminate?id=...: it restarts (RestartChild; a child that runs
// is restarted by its own Restart) or terminates (Terminate) the
// supervised child that id names: its path, key, label, name or child ID
// (see treeDoc), the path first; any other must match one service only.
// Each action, refused or performed, is logged with who asked.
func (h *Handler) serveControl(w http.ResponseWriter, r *http.Request) {
	ans := controlJSON{Action: r.PathValue("action"), ID: r.URL.Query().Get("id")}
	code, err := h.control(r, ans.Action, ans.ID)
	ans.OK = code == http.StatusOK // a terminate whose stop returned an error is done: 200 with the error
	if err != nil {
		ans.Error = reasonText(err)
	}
	h.logControl(r, ans, code)
	writeJSON(w, code, ans)
}

// control authorizes and performs one action, returning the status code.
func (h *Handler) control(r *http.Request, action, id string) (int, error) {
	if err := h.authorize(r); err != nil {
		return http.StatusForbidden, err
	}
	if action != "restart" && action != "terminate" {
		return http.StatusNotFound, fmt.Errorf("%w: %q", ErrUnknownAction, action)
	}
	if err := h.live.attach(h.Root); err != nil {
		return http.StatusServiceUnavailable, err
	}
	sup, childID, err := h.find(id)
	if err != nil {
		switch {
		case errors.Is(err, ErrNoService):
			return http.StatusNotFound, err
		default:
			return http.StatusConflict, err
		}
	}
	d := h.ControlTimeout
	if d <= 0 {
		d = defaultControlTimeout
	}
	// A supervisor that is starting or stopping serves its requests only
	// once its start or stop is over, which a hung hook can put off past
	// ControlTimeout: refuse at once rather than wait for it (as
	// RestartChild and Terminate refuse a supervisor not running).
	if st := sup.State(); st != service.Running {
		return http.StatusConflict, fmt.Errorf("%w: %s is %s", supervisor.ErrNotRunning, sup.Label(), st)
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()
	if action == "terminate" {
		err = sup.Terminate(ctx, childID)
	} else {
		// By the child's record, whatever its state: a lookup then the
		// child's own Restart would restart, outside the tree, a child
		// removed in between.
		err = sup.RestartByID(seam.Token{}, ctx, childID)
	}
	switch {
	case err == nil:
		return http.StatusOK, nil
	case errors.Is(err, context.DeadlineExceeded):
		if st := sup.State(); st == service.Stopping || st == service.Shutdown {
			// its stop began while the request waited for it
			return http.StatusConflict, fmt.Errorf("%w: %s is %s: %w", supervisor.ErrNotRunning, sup.Label(), st, err)
		}
		return http.StatusGatewayTimeout, err
	case errors.Is(err, supervisor.ErrNoChild):
		return http.StatusNotFound, err
	case errors.Is(err, supervisor.ErrNotRunning), errors.Is(err, service.ErrStopped), errors.Is(err, service.ErrNotStarted):
		return http.StatusConflict, err
	case errors.Is(err, context.Canceled): // the request's: its client is gone
		return http.StatusServiceUnavailable, err
	case action == "terminate":
		// The child's stop error (a crash that came as it was stopped, a
		// stop that ran out of its shutdown timeout): the child is down
		// and kept down, as asked.
		return http.StatusOK, err
	}
	// The child's start failed: the restart did not happen (the child is
	// left terminated, or its supervisor handles the failure as a crash).
	return http.StatusConflict, err
}

// authorize refuses a control request unless Controls is set; from
// another site's page (Sec-Fetch-Site, Origin); without the token when
// Token is set; and, when it is not, off loopback or with a Host header
// that does not name loopback (DNS rebinding).
func (h *Handler) authorize(r *http.Request) error {
	if !h.Controls {
		return ErrControlsOff
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("%w: request from a %s page", ErrUnauthorized, site)
	}
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			return fmt.Errorf("%w: request from the page of %s", ErrUnauthorized, o)
		}
	}
	if h.Token != "" {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		want := sha256.Sum256([]byte("Bearer " + h.Token))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return fmt.Errorf("%w: missing or wrong token", ErrUnauthorized)
		}
		return nil
	}
	if !loopback(r) {
		return fmt.Errorf("%w: off loopback, controls need a Token", ErrUnauthorized)
	}
	if !loopbackHost(r.Host) { // a page whose DNS name was rebound to 127.0.0.1
		return fmt.Errorf("%w: Host %q is not a loopback name, controls need a Token", ErrUnauthorized, r.Host)
	}
	return nil
}

// loopbackHost reports whether host (a Host header, with or without a
// port) names the loopback interface: localhost, a name under
// .localhost, or a loopback IP. A browser sends the name it resolved, so
// a page of another site rebound to 127.0.0.1 sends its own.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// loopback reports whether the request came in on a loopback address of
// the server (unknown: no).
func loopback(r *http.Request) bool {
	a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || a == nil {
		return false
	}
	host := a.String()
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// find returns the supervisor of the supervised child that id names, and
// its child ID.
func (h *Handler) find(id string) (*supervisor.Supervisor, string, error) {
	if id == "" {
		return nil, "", fmt.Errorf("%w: empty id", ErrNoService)
	}
	sn := newSnapper(nil, time.Time{})
	sn.byKey = map[string]service.Service{}
	top := sn.tree(h.Root, parentPath(h.Root)) // paths as tree.json gives them to the page
	var byPath, other []*nodeJSON
	var walk func(n *nodeJSON)
	walk = func(n *nodeJSON) {
		switch {
		case n.Path == id:
			byPath = append(byPath, n)
		case n.Key == id || n.Label == id || n.Name == id || (n.ID != "" && n.ID == id):
			other = append(other, n)
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(top)
	match := byPath
	if len(match) == 0 {
		match = other
	}
	switch {
	case len(match) == 0:
		return nil, "", fmt.Errorf("%w: %q", ErrNoService, id)
	case len(match) > 1:
		paths := make([]string, 0, len(match))
		for _, n := range match {
			paths = append(paths, n.Path)
		}
		return nil, "", fmt.Errorf("%w: %q: %s", ErrAmbiguous, id, strings.Join(paths, ", "))
	}
	n := match[0]
	sup, _ := sn.byKey[n.Parent].(*supervisor.Supervisor)
	if sup == nil || n.ID == "" {
		return nil, "", fmt.Errorf("%w: %s", ErrNotSupervised, n.Path)
	}
	return sup, n.ID, nil
}

// logControl logs a control action: who asked, what, and what came of it.
func (h *Handler) logControl(r *http.Request, ans controlJSON, code int) {
	l := h.Log
	if l == nil && h.Root != nil {
		l = h.Root.Log()
	}
	if l == nil {
		return
	}
	ev, msg := l.Info(), "observe: control done"
	if !ans.OK {
		ev, msg = l.Warn().Str("error", ans.Error), "observe: control refused or failed"
	} else if ans.Error != "" {
		ev = ev.Str("error", ans.Error) // a terminate whose stop returned an error
	}
	ev.Str("action", ans.Action).Str("id", ans.ID).Int("status", code).
		Str("remote", r.RemoteAddr).Str("user_agent", r.UserAgent()).Msg(msg)
}
