package observe_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// A Handler serves the live page of a tree on an application's mux, here
// under /observe/; its /debug/tree.json is the same tree as data.
func ExampleHandler() {
	l := zerolog.Nop()
	root := supervisor.New(supervisor.Spec{Service: service.Config{Name: "app", Logger: &l}})
	db := service.Func("db", func(ctx context.Context) error { <-ctx.Done(); return nil })
	db.Configure(service.Config{Logger: &l})
	_ = root.Add(context.Background(), db)
	if err := service.Start(context.Background(), root); err != nil {
		fmt.Println(err)
		return
	}
	defer root.Stop(context.Background())

	h := &observe.Handler{Root: root} // Controls off: a read-only page
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/observe/", http.StripPrefix("/observe", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	r, err := http.Get(srv.URL + "/observe/debug/tree.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Body.Close()
	var tree struct {
		Services int
		Root     struct {
			Label, State string
			Supervisor   struct{ Strategy string }
			Children     []struct{ Path, State string }
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&tree); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tree.Services, "services")
	fmt.Println(tree.Root.Label, tree.Root.State, tree.Root.Supervisor.Strategy)
	for _, c := range tree.Root.Children {
		fmt.Println(c.Path, c.State)
	}

	dot, err := http.Get(srv.URL + "/observe/debug/tree.dot")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer dot.Body.Close()
	b, _ := io.ReadAll(dot.Body)
	fmt.Print(string(b))
	// Output:
	// 2 services
	// Supervisor(app) running one_for_one
	// app/db running
	// digraph {
	// 	n0 [label="Supervisor(app) [running]"];
	// 	n1 [label="db [running]"];
	// 	n0 -> n1;
	// }
}
