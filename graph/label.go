package graph

import (
	"fmt"
	"reflect"
	"unicode/utf8"
)

// shortLabeler is implemented by node values that have a short,
// human-readable name; services do. ShortLabel may take the value's own lock,
// so graph never calls it while mu is held (see the package documentation,
// "Labels").
type shortLabeler interface {
	ShortLabel() string
}

// maxTypeLabel bounds a label made from a type name: an unnamed struct type
// spells out every field, which does not belong in an error text.
const maxTypeLabel = 64

// label returns the label of n used in error texts: valueLabel of its value,
// "node@<address>" for a node without a value, "<nil node>" for nil. It is
// deliberately not a String method: Node is embedded in services, and a
// promoted String would be picked up by fmt for the service itself.
//
// It may run user code (ShortLabel), so it must not be called with mu held.
func label(n *Node) string {
	if n == nil {
		return "<nil node>"
	}
	if v := n.Value(); v != nil {
		return valueLabel(v)
	}
	return fmt.Sprintf("node@%p", n)
}

// valueLabel returns a short label for a non-nil node value without ever
// formatting the value itself (no fmt.Sprint, no String, no field read):
//
//   - ShortLabel(), when v implements shortLabeler (if it panics, as on a
//     typed nil pointer, the type name is used instead);
//   - v itself when its dynamic type is exactly string (immutable, and no
//     method of the caller runs);
//   - otherwise the dynamic type name, like "*pkg.T" (%T), cut to
//     maxTypeLabel bytes.
//
// It may run user code (ShortLabel), so it must not be called with mu held.
func valueLabel(v any) string {
	switch v := v.(type) {
	case shortLabeler:
		if s, ok := shortLabel(v); ok {
			return s
		}
	case string:
		return v
	}
	return typeLabel(v)
}

// shortLabel calls v.ShortLabel, reporting false if it panicked.
func shortLabel(v shortLabeler) (s string, ok bool) {
	defer func() {
		if recover() != nil {
			s, ok = "", false
		}
	}()
	return v.ShortLabel(), true
}

// typeLabel is the dynamic type name of v (reflect only, no user code), cut
// to maxTypeLabel bytes on a rune boundary with a trailing "…".
func typeLabel(v any) string {
	s := reflect.TypeOf(v).String()
	if len(s) <= maxTypeLabel {
		return s
	}
	cut := maxTypeLabel
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
