package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomode/mode/graph"
)

// renderTree builds app{db{pool}, web} with the given labels in that order.
func renderTree(labels [4]string) *graph.Node {
	ns := make([]*graph.Node, 4)
	for i := range ns {
		ns[i] = new(graph.Node)
		ns[i].SetValue(labels[i])
	}
	_ = ns[0].Add(ns[1])
	_ = ns[1].Add(ns[2])
	_ = ns[0].Add(ns[3])
	return ns[0]
}

var (
	plainLabels  = [4]string{"app", "db", "pool", "web"}
	trickyLabels = [4]string{`say "hi"`, "two\nlines", `back\slash #1`, "<b>&</b>"}
)

func TestText(t *testing.T) {
	tests := []struct {
		name     string
		root     *graph.Node
		describe func(*graph.Node) string
		want     string
	}{
		{"nil root", nil, nil, ""},
		{"single", new(graph.Node), nil, "<nil>\n"},
		{"plain", renderTree(plainLabels), nil, "app\n├── db\n│   └── pool\n└── web\n"},
		{"describe", renderTree(plainLabels), func(n *graph.Node) string { return n.Value().(string) + " [running]" },
			"app [running]\n├── db [running]\n│   └── pool [running]\n└── web [running]\n"},
		{"tricky", renderTree(trickyLabels), nil,
			"say \"hi\"\n├── two\\nlines\n│   └── back\\slash #1\n└── <b>&</b>\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := graph.Text(tt.root, tt.describe); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestDOT(t *testing.T) {
	tests := []struct {
		name string
		root *graph.Node
		want string
	}{
		{"nil root", nil, "digraph {\n}\n"},
		{"plain", renderTree(plainLabels), `digraph {
	n0 [label="app"];
	n1 [label="db"];
	n0 -> n1;
	n2 [label="pool"];
	n1 -> n2;
	n3 [label="web"];
	n0 -> n3;
}
`},
		{"tricky", renderTree(trickyLabels), `digraph {
	n0 [label="say \"hi\""];
	n1 [label="two\nlines"];
	n0 -> n1;
	n2 [label="back\\slash #1"];
	n1 -> n2;
	n3 [label="<b>&</b>"];
	n0 -> n3;
}
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := graph.DOT(tt.root, nil); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestMermaid(t *testing.T) {
	tests := []struct {
		name string
		root *graph.Node
		want string
	}{
		{"nil root", nil, "graph TD\n"},
		{"plain", renderTree(plainLabels), `graph TD
    n0["app"]
    n1["db"]
    n0 --> n1
    n2["pool"]
    n1 --> n2
    n3["web"]
    n0 --> n3
`},
		{"tricky", renderTree(trickyLabels), `graph TD
    n0["say #quot;hi#quot;"]
    n1["two<br/>lines"]
    n0 --> n1
    n2["back\slash #35;1"]
    n1 --> n2
    n3["#lt;b#gt;&#lt;/b#gt;"]
    n0 --> n3
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := graph.Mermaid(tt.root, nil); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		root *graph.Node
		want string
	}{
		{"nil root", nil, `null`},
		{"leaf", new(graph.Node), `{"label":"<nil>"}`},
		{"plain", renderTree(plainLabels),
			`{"label":"app","children":[{"label":"db","children":[{"label":"pool"}]},{"label":"web"}]}`},
		{"tricky", renderTree(trickyLabels),
			`{"label":"say \"hi\"","children":[{"label":"two\nlines","children":[{"label":"back\\slash #1"}]},{"label":"<b>&</b>"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := graph.JSON(tt.root, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatal("invalid JSON")
			}
		})
	}
}

func TestRenderDescribeOncePerNode(t *testing.T) {
	root := renderTree(plainLabels)
	for name, render := range map[string]func(func(*graph.Node) string){
		"text":    func(d func(*graph.Node) string) { graph.Text(root, d) },
		"dot":     func(d func(*graph.Node) string) { graph.DOT(root, d) },
		"mermaid": func(d func(*graph.Node) string) { graph.Mermaid(root, d) },
		"json":    func(d func(*graph.Node) string) { _, _ = graph.JSON(root, d) },
	} {
		var seen []string
		render(func(n *graph.Node) string { seen = append(seen, n.Value().(string)); return "" })
		if got := strings.Join(seen, ","); got != "app,db,pool,web" {
			t.Errorf("%s: describe calls = %s", name, got)
		}
	}
}
