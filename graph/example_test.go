package graph_test

import (
	"fmt"

	"github.com/gomode/mode/graph"
)

func Example() {
	var app, db, pool, web graph.Node // zero Nodes are detached roots
	app.SetValue("app")
	db.SetValue("db")
	pool.SetValue("pool")
	web.SetValue("web")
	_ = app.Add(&db)
	_ = db.Add(&pool)
	_ = app.Add(&web)

	state := map[string]string{"web": "crashed"}
	fmt.Print(graph.Text(&app, func(n *graph.Node) string {
		s := state[n.Value().(string)]
		if s == "" {
			s = "running"
		}
		return fmt.Sprintf("%v [%s]", n.Value(), s)
	}))

	err := pool.Add(&app) // app is an ancestor of pool
	fmt.Println(err)
	fmt.Println(pool.Depth(), pool.Root().Value())
	// Output:
	// app [running]
	// ├── db [running]
	// │   └── pool [running]
	// └── web [crashed]
	// mode: cycle: cannot add app under pool: app is an ancestor of pool
	// 2 app
}

func ExampleTopoOrder() {
	nodes := make(map[string]*graph.Node)
	for _, name := range []string{"web", "db", "cache", "config"} {
		nodes[name] = new(graph.Node)
		nodes[name].SetValue(name)
	}
	deps := map[string][]string{
		"web":   {"db", "cache"},
		"db":    {"config"},
		"cache": {"config"},
	}
	order, err := graph.TopoOrder([]*graph.Node{nodes["web"]}, func(n *graph.Node) []*graph.Node {
		var out []*graph.Node
		for _, d := range deps[n.Value().(string)] {
			out = append(out, nodes[d])
		}
		return out
	})
	for _, n := range order {
		fmt.Print(n.Value(), " ")
	}
	fmt.Println(err)
	// Output: config db cache web <nil>
}
