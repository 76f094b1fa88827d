// Package observe lets operators look into a running mode tree: a live
// page, health endpoints for Kubernetes, Prometheus metrics and systemd
// readiness and watchdog notifications.
//
// It is a module of its own (github.com/gomode/mode/observe), so that a
// program that imports only the core packages (service, supervisor) does
// not get its dependencies (client_golang, go-systemd) in its module
// graph.
package observe
