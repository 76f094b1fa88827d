package observe

import (
	"strings"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/service"
)

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
