package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// API serves HTTP for as long as it runs: the recipe for an http.Server.
//
//   - OnStart listens, so a taken port fails the start (and a supervisor
//     retries it), then serves on a task of the run.
//   - OnStop calls http.Server.Shutdown with the stop's ctx: it ends with
//     the stop budget, so in-flight requests get the budget to finish.
//     The run ctx is already cancelled when OnStop runs; do not use it as
//     the requests' BaseContext, or a stop would cancel them at once.
//   - If a later step of the start fails (here a child), the start is
//     rolled back as a stop: OnStop runs because OnStart had returned nil,
//     so the server is shut down and its port is free again.
type API struct {
	service.Base
	Addr string // host:port; port 0 picks a free one
	srv  *http.Server
	ln   net.Listener
}

var (
	_ service.OnStarter = (*API)(nil)
	_ service.OnStopper = (*API)(nil)
)

func (a *API) OnStart(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.Addr)
	if err != nil {
		return err
	}
	a.ln = ln
	a.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})}
	srv := a.srv
	return a.Go("serve", func(context.Context) error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err // the listener failed: the service crashes
		}
		return nil // Shutdown was called: the task just ends
	})
}

func (a *API) OnStop(ctx context.Context) error {
	return a.srv.Shutdown(ctx) // ctx ends with the stop budget
}

// failingChild fails its start, to show the rollback of its parent.
type failingChild struct{ service.Base }

func (*failingChild) OnStart(context.Context) error { return errors.New("no database") }

// An http.Server as a service: listen in OnStart, Shutdown in OnStop, and
// what a failed start does to it.
func Example_httpServer() {
	ctx := context.Background()
	nop := zerolog.Nop()
	api := &API{Addr: "127.0.0.1:0"}
	api.Configure(service.Config{Logger: &nop})
	if err := service.Start(ctx, api); err != nil {
		fmt.Println("start:", err)
		return
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + api.ln.Addr().String())
	if err != nil {
		fmt.Println("get:", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	fmt.Println("served:", string(body))
	fmt.Println("stop:", api.Stop(ctx))

	// A start that fails after OnStart is rolled back: the server is shut
	// down, so nothing listens on the port any more.
	broken := &API{Addr: "127.0.0.1:0"}
	child := &failingChild{}
	broken.Configure(service.Config{Logger: &nop})
	child.Configure(service.Config{Logger: &nop})
	if err := broken.AddDependency(child); err != nil {
		fmt.Println("AddDependency:", err)
		return
	}
	fmt.Println("start failed:", service.Start(ctx, broken) != nil)
	_, err = net.Dial("tcp", broken.ln.Addr().String())
	fmt.Println("port closed after the rollback:", err != nil, broken.State())

	// Output:
	// served: hello
	// stop: <nil>
	// start failed: true
	// port closed after the rollback: true init
}
