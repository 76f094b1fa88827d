// Package mode is mode for Go: supervisor trees for daemons that must keep
// running, modeled on Erlang/OTP and on Python's mode.
//
// The pieces:
//
//   - package service: the lifecycle every service embeds (service.Base),
//     tasks, timers, cron, dependencies, crashes.
//   - package supervisor: OTP supervisors that restart what crashes.
//   - package strategy: the pure restart decisions and limits.
//   - package graph and package diag: the service tree and what each
//     service is doing now.
//
// This package holds the Worker, which runs a tree as a process: it starts
// the root service, stops it on SIGINT or SIGTERM (or when ctx ends),
// dumps the tree and every goroutine's stack on SIGUSR1, and turns the
// outcome into an exit code.
package mode
