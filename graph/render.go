package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The renderers below draw the subtree under root. Each node's label is
// describe(n); when describe is nil it is the node's value label (see
// "Labels" in the package documentation: ShortLabel, a string value itself,
// else the value's type name; never fmt.Sprint of the value), or "<nil>" for
// a node without a value. They read the tree like Walk (no lock, children
// read when a node is reached), are safe for concurrent use, and call
// describe (or ShortLabel) once per node, in walk order, with no lock held.

func labeler(describe func(*Node) string) func(*Node) string {
	if describe != nil {
		return describe
	}
	return defaultLabel
}

// defaultLabel is the renderers' label when describe is nil.
func defaultLabel(n *Node) string {
	if v := n.Value(); v != nil {
		return valueLabel(v)
	}
	return "<nil>"
}

// textEscaper keeps each node on one line of Text output.
var textEscaper = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// Text renders the tree as plain text, one node per line, children indented
// under their parent with box-drawing branches:
//
//	app [running]
//	├── db [running]
//	│   └── pool [running]
//	└── web [crashed]
//
// Line breaks inside a label are written as the two characters `\n`. Every
// line ends in a newline. A nil root renders as the empty string.
func Text(root *Node, describe func(*Node) string) string {
	if root == nil {
		return ""
	}
	label := labeler(describe)
	var b strings.Builder
	b.WriteString(textEscaper.Replace(label(root)))
	b.WriteByte('\n')
	textChildren(&b, root, "", label)
	return b.String()
}

func textChildren(b *strings.Builder, n *Node, prefix string, label func(*Node) string) {
	kids := n.kids()
	for i, c := range kids {
		branch, indent := "├── ", "│   "
		if i == len(kids)-1 {
			branch, indent = "└── ", "    "
		}
		b.WriteString(prefix)
		b.WriteString(branch)
		b.WriteString(textEscaper.Replace(label(c)))
		b.WriteByte('\n')
		textChildren(b, c, prefix+indent, label)
	}
}

// numbered calls emit for every node of the subtree in walk order with its
// number (0 for root) and its parent's number (-1 for root).
func numbered(root *Node, emit func(n *Node, id, parent int)) {
	next := 0
	var visit func(n *Node, parent int)
	visit = func(n *Node, parent int) {
		id := next
		next++
		emit(n, id, parent)
		for _, c := range n.kids() {
			visit(c, id)
		}
	}
	visit(root, -1)
}

// dotEscaper escapes a label for a double-quoted Graphviz string.
var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`)

// DOT renders the tree as a Graphviz digraph. Nodes are named n0, n1, ... in
// walk order, each declared with its quoted, escaped label before the edge
// from its parent:
//
//	digraph {
//		n0 [label="app"];
//		n1 [label="db"];
//		n0 -> n1;
//	}
//
// Quotes and backslashes in labels are escaped and line breaks become `\n`
// (a centered line break in Graphviz). A nil root renders as an empty
// digraph.
func DOT(root *Node, describe func(*Node) string) string {
	var b strings.Builder
	b.WriteString("digraph {\n")
	if root != nil {
		label := labeler(describe)
		numbered(root, func(n *Node, id, parent int) {
			fmt.Fprintf(&b, "\tn%d [label=\"%s\"];\n", id, dotEscaper.Replace(label(n)))
			if parent >= 0 {
				fmt.Fprintf(&b, "\tn%d -> n%d;\n", parent, id)
			}
		})
	}
	b.WriteString("}\n")
	return b.String()
}

// mermaidEscaper escapes a label for a double-quoted Mermaid node text using
// Mermaid's entity codes; line breaks become <br/>.
var mermaidEscaper = strings.NewReplacer(
	"#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;",
	"\r\n", "<br/>", "\n", "<br/>", "\r", "<br/>",
)

// Mermaid renders the tree as a Mermaid flowchart ("graph TD"). Nodes are
// named n0, n1, ... in walk order, each declared with its quoted label before
// the edge from its parent:
//
//	graph TD
//	    n0["app"]
//	    n1["db"]
//	    n0 --> n1
//
// '#', '"', '<' and '>' in labels become Mermaid entity codes (#35;, #quot;,
// #lt;, #gt;) and line breaks become <br/>. A nil root renders as just the
// header line.
func Mermaid(root *Node, describe func(*Node) string) string {
	var b strings.Builder
	b.WriteString("graph TD\n")
	if root != nil {
		label := labeler(describe)
		numbered(root, func(n *Node, id, parent int) {
			fmt.Fprintf(&b, "    n%d[\"%s\"]\n", id, mermaidEscaper.Replace(label(n)))
			if parent >= 0 {
				fmt.Fprintf(&b, "    n%d --> n%d\n", parent, id)
			}
		})
	}
	return b.String()
}

// jsonNode is the JSON shape of one node.
type jsonNode struct {
	Label    string      `json:"label"`
	Children []*jsonNode `json:"children,omitempty"`
}

func toJSON(n *Node, label func(*Node) string) *jsonNode {
	j := &jsonNode{Label: label(n)}
	for _, c := range n.kids() {
		j.Children = append(j.Children, toJSON(c, label))
	}
	return j
}

// JSON renders the tree as compact JSON: nested objects
// {"label": "...", "children": [...]}, with "children" omitted for leaves.
// Labels are JSON strings (HTML characters are not escaped; invalid UTF-8
// becomes U+FFFD). A nil root renders as null. An encoding failure gives an
// error wrapping ErrRender.
func JSON(root *Node, describe func(*Node) string) ([]byte, error) {
	if root == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(toJSON(root, labeler(describe))); err != nil {
		return nil, fmt.Errorf("%w: JSON of %s: %w", ErrRender, label(root), err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
