package observe

import "unicode/utf8"

// maxReason bounds the text of an error shown by the page, tree.json, the
// event stream and the probes: a crash reason can be anything (a whole
// response body, a stack), and a copy of it is kept per service and per
// stream.
const maxReason = 1024

// reasonText is err's text, cut on a rune boundary to maxReason bytes
// ("..." marks the cut); "" for nil.
func reasonText(err error) string {
	if err == nil {
		return ""
	}
	return clip(err.Error(), maxReason)
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	// Back to the start of the rune at n, at most UTFMax-1 bytes: bytes
	// that are not UTF-8 (a binary body) are cut where they are.
	for i > 0 && i > n-(utf8.UTFMax-1) && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "..."
}
