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
// dumps the tree and every goroutine's stack on SIGUSR1, sets up logging
// for the whole tree, and turns the outcome into an exit code.
//
// # Running a tree
//
//	func main() {
//		level := flag.String("loglevel", "info", "trace, debug, info, warn, error")
//		file := flag.String("logfile", "", "append the log to this file (default: stderr)")
//		flag.Parse()
//		w := &mode.Worker{Service: buildTree(), LogLevel: *level, LogFile: *file}
//		w.Main() // os.Exit(w.Execute())
//	}
//
// Worker.Run(ctx) is the embeddable form: it returns an error instead of
// exiting, and ExitCode maps that error to the exit code Execute would
// return. ExecuteContext(ctx) is Execute with a ctx.
//
// # Signals in every phase
//
// The Worker listens from the moment Run begins until just before it
// returns; then signal.Stop gives the signals back Go's default effect
// (SIGINT and SIGTERM end the process, SIGUSR1 is ignored), so a program
// that goes on after Run is not left deaf to a stop.
//
//   - Start: SIGINT or SIGTERM cancels the start (hooks get a cancelled
//     ctx); what started is rolled back, and Run returns nil (or an
//     ExitStopTimeout error if code that ignored its ctx was abandoned).
//   - Run: SIGINT or SIGTERM stops the tree, bounded by StopTimeout.
//   - Stop (or the rollback of a cancelled start): a second SIGINT or
//     SIGTERM exits at once: the Worker writes what is still running (the
//     services not yet stopped, with their state, e.g. "stopping") and the
//     tree's dump to DumpTo, and Run returns ErrForcedExit naming them. The
//     stop is abandoned; the process is about to exit. A stop begun for
//     another reason (ctx ended, the tree crashed) takes two signals.
//   - Every phase: SIGUSR1 writes Dump (the tree, then every goroutine's
//     stack) to DumpTo, and the Worker goes on. A hung start or stop is
//     when an operator needs it most.
//
// # Exit codes
//
// Execute returns, and Main exits with, one of these codes:
//
//	code  constant         what happened                                   systemd (Restart=on-failure)
//	0     ExitOK           the tree stopped on request or ended normally    success: not restarted
//	1     ExitFailure      the tree crashed: a crash reached the root, or   restarted
//	                       the root supervisor gave up (ErrMaxRestarts),
//	                       a Restart of the root left it down;
//	                       or its stop returned an error
//	69    ExitStartFailed  the start failed and was rolled back             restarted (RestartSec= spaces attempts)
//	78    ExitBadConfig    bad configuration (ErrBadConfig); nothing ran    RestartPreventExitStatus=78
//	80    ExitStopTimeout  the stop, or a start's rollback, ran out of its  restarted, unless listed
//	                       budget; code that did not return was
//	                       abandoned (named in the log)
//	81    ExitForced       a second stop signal during the stop             RestartPreventExitStatus=81
//
// When several apply, the later phase wins: ExitForced over everything,
// ExitStopTimeout over ExitFailure (a crashed tree whose stop then hangs)
// and over ExitStartFailed (a failed start whose rollback then hangs). A
// start cancelled by a stop signal and rolled back cleanly is ExitOK; a
// stop signal that arrives as the start completes stops the tree at once
// (Ready is not called).
//
// Why these values: 1 is the generic failure every tool reads as "failed,
// restart me", and ExitFailure keeps that meaning (a crash). 69 and 78 are
// BSD sysexits' EX_UNAVAILABLE and EX_CONFIG, which systemd names
// ("69/UNAVAILABLE", "78/CONFIG" in systemctl status). 80 and 81 are
// named neither by sysexits (64–78), nor by LSB (0–7), nor by systemd
// (its own codes start at 200), so they are never read as something else.
// Codes 2 (a Go panic that was not recovered, and the flag package's usage
// error) and 126–255 (the shell's "not executable", 128+n "killed by
// signal n", systemd's own) are avoided: a code from this table other than
// 1 (which log.Fatal and zerolog's Fatal exit with too) always means the
// Worker chose it. A unit that
// should not come back after a bad configuration or an operator's forced
// exit says:
//
//	[Service]
//	Restart=on-failure
//	RestartPreventExitStatus=78 81
//
// Do not add SuccessExitStatus=80: a tree that crashed and then hung in
// its stop exits with 80 too, and must be restarted. After "systemctl
// stop" systemd restarts nothing, whatever the code.
//
// # Logging for the whole tree
//
// The Worker builds one logger from LogLevel (default "info") and LogFile
// (default stderr): coloured text when its output is a terminal, JSON lines
// otherwise. It logs the Worker's own lines and is the logger of every
// service that has no Config.Logger, so by default the routine Debug
// lifecycle lines ("Starting", "Stopped") are not written while crashes,
// restarts and give-ups are. Worker.Logger replaces it with a logger of
// your own; setting it together with LogLevel or LogFile is
// ErrConflictingOptions.
//
// # Extensions
//
// Worker.Extensions run beside the tree: each is told of the run's steps
// (StepStarting, StepRunning, StepStopping, StepStopped) on Run's
// goroutine, in order, and in reverse order for the last. Package
// github.com/gomode/mode/observe (a module of its own, so the core's
// users do not get its dependencies) provides a server for its live page
// and health endpoints, a Prometheus collector and a systemd notifier as
// extensions. An extension that fails at StepStarting fails the run
// before the tree starts (ExitStartFailed); later failures are logged.
//
// # Bad input
//
// Nothing starts, and Run returns an error matching ErrBadConfig (exit code
// ExitBadConfig), when: Service is nil or a typed nil pointer
// (ErrNoService); Logger is set with LogLevel or LogFile, or a signal is
// both a stop and a dump signal (ErrConflictingOptions); an entry of
// Extensions is nil (ErrNilExtension); LogLevel is not a
// level or LogFile cannot be opened; StopTimeout is negative; the Worker
// has already run or is running (ErrRunTwice: a Worker runs once, and a
// second Run, concurrent or later, returns at once without touching the
// first).
//
// # Testing a tree
//
// Test the tree itself, not the Worker, inside a testing/synctest bubble:
// service.Start it and Stop it there (see "Testing your services" in
// package service). Do not call Run, Execute or Main inside a bubble: the
// Worker listens to signals with os/signal, whose delivery goroutine lives
// outside every bubble, and Go then aborts the whole test binary ("fatal
// error: select on synctest channel from outside bubble"), not only the
// test. Outside a bubble a Worker can be tested as ExampleWorker and
// ExampleExitCode do: a Logger of its own, and Ready or ctx to end the run.
package mode
