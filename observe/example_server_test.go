package observe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// DB is a service whose Healthcheck fails while it has lost its
// connection.
type DB struct {
	service.Base
	lost bool
}

func (d *DB) Healthcheck(context.Context) error {
	if d.lost {
		return errors.New("connection lost")
	}
	return nil
}

// A Worker serving the endpoints on a port while it runs: a probe
// answers 200 with {"status":"ok"} once the tree has started.
func ExampleServer() {
	l := zerolog.Nop()
	root := supervisor.New(supervisor.Spec{Service: service.Config{Name: "app", Logger: &l}})
	db := &DB{}
	db.Configure(service.Config{Name: "db"})
	if err := root.Add(context.Background(), db); err != nil {
		fmt.Println(err)
		return
	}

	srv := &observe.Server{Addr: "127.0.0.1:0"} // ":8080" in a real daemon
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &mode.Worker{
		Service:    root,
		Logger:     &l,
		Extensions: []mode.Extension{srv},
		Ready: func() { // the tree has started: probe it, then stop
			defer cancel()
			resp, err := http.Get("http://" + srv.ListenAddr().String() + "/readyz")
			if err != nil {
				fmt.Println(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			fmt.Print(resp.StatusCode, " ", string(body))
		},
	}
	err := w.Run(ctx)
	fmt.Println("exit", mode.ExitCode(err))
	// Output:
	// 200 {"status":"ok"}
	// exit 0
}

// Readiness names each service that is not ready; a Handler sends the
// same Report as JSON with 503.
func ExampleReadiness() {
	l := zerolog.Nop()
	db := &DB{lost: true}
	db.Configure(service.Config{Name: "db", Logger: &l})
	if err := service.Start(context.Background(), db); err != nil {
		fmt.Println(err)
		return
	}
	defer db.Stop(context.Background())

	rep := observe.Readiness(context.Background(), db)
	fmt.Println(rep.Status, errors.Is(rep.Err(), observe.ErrNotReady))
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep.Failures)
	// Output:
	// fail true
	// [
	//   {
	//     "service": "db",
	//     "state": "running",
	//     "error": "mode: service unhealthy: DB(db): connection lost"
	//   }
	// ]
}

// Healthy is what a watchdog asks before each ping: nil while the tree is
// live, ErrNotLive once its root has crashed or some of its code hangs.
func ExampleHealthy() {
	l := zerolog.Nop()
	job := service.Func("job", func(context.Context) error { return errors.New("out of disk") })
	job.Configure(service.Config{Name: "job", Logger: &l})
	if err := service.Start(context.Background(), job); err != nil {
		fmt.Println(err)
		return
	}
	defer job.Stop(context.Background())
	_ = job.WaitUntilStopped(context.Background()) // the crash

	err := observe.Healthy(context.Background(), job)
	fmt.Println(errors.Is(err, observe.ErrNotLive))
	fmt.Println(strings.TrimPrefix(err.Error(), observe.ErrNotLive.Error()+": "))
	// Output:
	// true
	// job (crashed): crashed: job: out of disk
}
