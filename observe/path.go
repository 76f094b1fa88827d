package observe

import (
	"strings"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/service"
)

// walkTree calls visit for root and, depth first, for each service below
// a service whose visit returned true, with its path (pathOf's, as a
// trail valid during the call). gone, if not nil, names the children of a
// visited service that are gone for good: they and their subtrees are
// visited with gone true (their state does not count, but code of theirs
// still running does).
func walkTree(root service.Service, gone func(parent service.Service) map[service.Service]bool, visit func(s service.Service, path trail, gone bool) bool) {
	var rec func(s service.Service, path trail, left bool)
	rec = func(s service.Service, path trail, left bool) {
		if !visit(s, path, left) {
			return
		}
		var leaving map[service.Service]bool
		if gone != nil && !left {
			leaving = gone(s)
		}
		for _, n := range s.Node().Children() {
			c, ok := n.Value().(service.Service)
			if !ok || isNilService(c) {
				continue
			}
			rec(c, append(path, validUTF8(c.ShortLabel())), left || leaving[c])
		}
	}
	up := root.Node().Path() // root's node first, then its ancestors
	path := make(trail, 0, len(up)+16)
	for i := len(up) - 1; i > 0; i-- {
		path = append(path, nodeName(up[i]))
	}
	// root by its ShortLabel: named even before it is handed over.
	rec(root, append(path, validUTF8(root.ShortLabel())), false)
}

// trail is a service's path from the top of its tree, one ShortLabel a
// step. walkTree reuses its array: String copies it out.
type trail []string

// String renders the path: "root/api/cache", as pathOf does.
func (t trail) String() string { return strings.Join(t, "/") }

// pathOf is the path of the service at n as every part of this package
// shows it (the page, /readyz, the metrics' service label, systemd's
// STATUS=), and as the core names it (pprof's mode.service label, the
// dumps): the ShortLabels from the root down to it, joined by "/", made
// valid UTF-8 (a Prometheus label value must be). Siblings of one name
// share a path.
func pathOf(n *graph.Node) string {
	up := n.Path()
	var b strings.Builder
	for i := len(up) - 1; i >= 0; i-- {
		if b.Len() > 0 {
			b.WriteByte('/')
		}
		b.WriteString(nodeName(up[i]))
	}
	return b.String()
}

// nodeName is the ShortLabel of the service at n, made valid UTF-8.
func nodeName(n *graph.Node) string {
	if s, ok := n.Value().(service.Service); ok {
		return validUTF8(s.ShortLabel())
	}
	return "?"
}

// validUTF8 replaces the invalid bytes of s with U+FFFD.
func validUTF8(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
