package service_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// DB is a service whose health depends on its connection.
type DB struct {
	service.Base
	up atomic.Bool
}

var _ service.Healthchecker = (*DB)(nil)

func (d *DB) Healthcheck(context.Context) error {
	if !d.up.Load() {
		return errors.New("connection lost")
	}
	return nil
}

// probes are Kubernetes' liveness and readiness probes for a tree:
//
//   - /healthz (liveness, "restart me if this fails"): the process
//     answers and its root has not crashed. Keep it that small: a failed
//     liveness probe kills the pod, while the supervisors restart what
//     crashes inside it far faster.
//   - /readyz (readiness, "send me traffic"): the services traffic
//     depends on are Running and their Healthcheck passes, with
//     service.CheckHealth, bounded by the probe's request ctx.
//
// Map any error to 503 and say why in the body; Kubernetes only reads the
// status code, people read the body.
func probes(root service.Service, deps ...service.Service) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := root.CrashReason(); err != nil {
			http.Error(w, "crashed: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		for _, s := range deps {
			if err := service.CheckHealth(r.Context(), s); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ok")
	})
	return mux
}

// Kubernetes liveness and readiness probes wired to Healthcheck.
func Example_kubernetesProbes() {
	ctx := context.Background()
	nop := zerolog.Nop()
	db := &DB{}
	db.Configure(service.Config{Name: "db", Logger: &nop})
	mux := probes(db, db)
	get := func(path string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Printf("%s %d %s", path, rec.Code, rec.Body.String())
		if rec.Code == http.StatusOK {
			fmt.Println()
		}
	}

	get("/readyz") // not started yet
	if err := service.Start(ctx, db); err != nil {
		fmt.Println("start:", err)
		return
	}
	db.up.Store(true)
	get("/healthz")
	get("/readyz")
	db.up.Store(false) // the connection drops: not ready, still alive
	get("/healthz")
	get("/readyz")
	_ = db.Stop(ctx)

	// Output:
	// /readyz 503 mode: service not running: DB(db) (state init)
	// /healthz 200 ok
	// /readyz 200 ok
	// /healthz 200 ok
	// /readyz 503 mode: service unhealthy: DB(db): connection lost
}
