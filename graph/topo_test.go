package graph_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gomode/mode/graph"
)

func TestTopoOrder(t *testing.T) {
	tests := []struct {
		name    string
		input   []string
		deps    map[string][]string
		want    []string
		wantErr error
		cycle   string
	}{
		{"empty", nil, nil, []string{}, nil, ""},
		{"no deps keeps order", []string{"b", "a", "c"}, nil, []string{"b", "a", "c"}, nil, ""},
		{"duplicates once", []string{"a", "a"}, nil, []string{"a"}, nil, ""},
		{"chain", []string{"a"}, map[string][]string{"a": {"b"}, "b": {"c"}}, []string{"c", "b", "a"}, nil, ""},
		{"diamond", []string{"top", "left"}, map[string][]string{"top": {"left", "right"}, "left": {"base"}, "right": {"base"}},
			[]string{"base", "left", "right", "top"}, nil, ""},
		{"self cycle", []string{"a"}, map[string][]string{"a": {"a"}}, nil, graph.ErrCycle, "a -> a"},
		{"long cycle", []string{"x"}, map[string][]string{"x": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}, nil, graph.ErrCycle, "a -> b -> c -> a"},
		{"nil dep", []string{"a"}, map[string][]string{"a": {"<nil>"}}, nil, graph.ErrNilNode, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := map[string]*graph.Node{}
			get := func(s string) *graph.Node {
				if s == "<nil>" {
					return nil
				}
				if nodes[s] == nil {
					nodes[s] = new(graph.Node)
					nodes[s].SetValue(s)
				}
				return nodes[s]
			}
			var input []*graph.Node
			for _, s := range tt.input {
				input = append(input, get(s))
			}
			got, err := graph.TopoOrder(input, func(n *graph.Node) []*graph.Node {
				var out []*graph.Node
				for _, d := range tt.deps[n.Value().(string)] {
					out = append(out, get(d))
				}
				return out
			})
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if got != nil {
					t.Errorf("order %v returned with error", names(got))
				}
				if !strings.Contains(err.Error(), tt.cycle) {
					t.Errorf("error %q does not name cycle %q", err, tt.cycle)
				}
				return
			}
			if g := names(got); !slices.Equal(g, tt.want) {
				t.Fatalf("order = %v, want %v", g, tt.want)
			}
		})
	}
}

func TestTopoOrderNilInput(t *testing.T) {
	_, err := graph.TopoOrder([]*graph.Node{new(graph.Node), nil}, nil)
	if !errors.Is(err, graph.ErrNilNode) {
		t.Fatalf("err = %v", err)
	}
}
