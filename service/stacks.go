package service

import (
	"bytes"
	"fmt"
	"io"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
)

// DumpStacks writes the stack of every goroutine of the program to w,
// grouped by the service each works for (its LabelService pprof label; see
// LabelService), services in path order, then the goroutines of no
// service. Within a group, goroutines with identical stacks and labels are
// counted once, as runtime/pprof's goroutine profile (debug=1) prints
// them, labels line included:
//
//	goroutine profile: total 9, grouped by service
//
//	== service app: 1 goroutine
//	1 @ 0x43e1ae 0x40a4e4 ...
//	# labels: {"mode.service":"app", "mode.task":"fetch"}
//	#	0x4b7a31	main.(*Consumer).fetch+0x51	/src/consumer.go:42
//
//	== no service: 8 goroutines
//	...
//
// It returns the error of the profile or of w.
func DumpStacks(w io.Writer) error {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return fmt.Errorf("goroutine profile: %w", err)
	}
	_, err := io.WriteString(w, groupStacks(buf.String()))
	return err
}

// stackGroup is the goroutines of one service in a goroutine profile.
type stackGroup struct {
	path   string // "" for no service
	count  int
	blocks []string
}

// groupStacks regroups a goroutine profile written with debug=1 under a
// heading per service.
func groupStacks(profile string) string {
	header, body, _ := strings.Cut(profile, "\n")
	groups := map[string]*stackGroup{}
	for block := range strings.SplitSeq(body, "\n\n") {
		block = strings.Trim(block, "\n")
		if block == "" {
			continue
		}
		path := labelIn(block, LabelService)
		g := groups[path]
		if g == nil {
			g = &stackGroup{path: path}
			groups[path] = g
		}
		n, _, _ := strings.Cut(block, " ")
		c, err := strconv.Atoi(n)
		if err != nil {
			c = 1
		}
		g.count += c
		g.blocks = append(g.blocks, block)
	}
	list := make([]*stackGroup, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i].path, list[j].path
		if (a == "") != (b == "") {
			return b == "" // no service last
		}
		return a < b
	})
	var b strings.Builder
	b.WriteString(strings.TrimSpace(header))
	b.WriteString(", grouped by service\n")
	for _, g := range list {
		name := "service " + g.path
		if g.path == "" {
			name = "no service"
		}
		unit := "goroutines"
		if g.count == 1 {
			unit = "goroutine"
		}
		fmt.Fprintf(&b, "\n== %s: %d %s\n", name, g.count, unit)
		for i, blk := range g.blocks {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(blk)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// labelIn returns the value of label key in a profile block's
// `# labels: {"k":"v", ...}` line, or "".
func labelIn(block, key string) string {
	const prefix = "\n# labels: {"
	i := strings.Index(block, prefix)
	if i < 0 {
		return ""
	}
	line := block[i+len(prefix):]
	if j := strings.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	for {
		k, rest, ok := unquotePrefix(line)
		if !ok || !strings.HasPrefix(rest, ":") {
			return ""
		}
		v, rest, ok := unquotePrefix(rest[1:])
		if !ok {
			return ""
		}
		if k == key {
			return v
		}
		rest, ok = strings.CutPrefix(rest, ", ")
		if !ok {
			return ""
		}
		line = rest
	}
}

// unquotePrefix reads the Go-quoted string at the start of s.
func unquotePrefix(s string) (val, rest string, ok bool) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", s, false
	}
	val, err = strconv.Unquote(q)
	return val, s[len(q):], err == nil
}
