package service_test

import (
	"context"
	"fmt"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// exampleService prints each lifecycle hook it gets.
type exampleService struct {
	service.Base
	name string
}

func (e *exampleService) say(hook string) error {
	fmt.Printf("%s: %s\n", e.name, hook)
	return nil
}

func (e *exampleService) OnFirstStart(context.Context) error { return e.say("OnFirstStart") }
func (e *exampleService) OnStart(context.Context) error      { return e.say("OnStart") }
func (e *exampleService) OnStarted(context.Context) error    { return e.say("OnStarted") }
func (e *exampleService) OnStop(context.Context) error       { return e.say("OnStop") }
func (e *exampleService) OnShutdown(context.Context) error   { return e.say("OnShutdown") }
func (e *exampleService) OnRestart(context.Context) error    { return e.say("OnRestart") }

// Compile-time checks that the hooks are wired: a misspelled method would
// fail the build here.
var (
	_ service.OnFirstStarter = (*exampleService)(nil)
	_ service.OnStarter      = (*exampleService)(nil)
	_ service.OnStartedHook  = (*exampleService)(nil)
	_ service.OnStopper      = (*exampleService)(nil)
	_ service.OnShutdowner   = (*exampleService)(nil)
	_ service.OnRestarter    = (*exampleService)(nil)
)

// A parent with one child: the order of the hooks through a start, a
// restart and a stop.
func Example() {
	ctx := context.Background()
	nop := zerolog.Nop()
	parent := &exampleService{name: "parent"}
	child := &exampleService{name: "child"}
	parent.Configure(service.Config{Logger: &nop})
	child.Configure(service.Config{Logger: &nop})
	if err := parent.AddDependency(child); err != nil {
		fmt.Println("AddDependency:", err)
		return
	}

	fmt.Println("-- start")
	if err := service.Start(ctx, parent); err != nil {
		fmt.Println("Start:", err)
	}
	fmt.Println("-- restart")
	if err := parent.Restart(ctx); err != nil {
		fmt.Println("Restart:", err)
	}
	fmt.Println("-- stop")
	if err := parent.Stop(ctx); err != nil {
		fmt.Println("Stop:", err)
	}
	fmt.Println("--", parent.State(), child.State(), "restarts:", child.RestartCount())

	// Output:
	// -- start
	// parent: OnFirstStart
	// parent: OnStart
	// child: OnFirstStart
	// child: OnStart
	// child: OnStarted
	// parent: OnStarted
	// -- restart
	// parent: OnStop
	// child: OnStop
	// child: OnShutdown
	// parent: OnShutdown
	// parent: OnRestart
	// child: OnRestart
	// parent: OnStart
	// child: OnStart
	// child: OnStarted
	// parent: OnStarted
	// -- stop
	// parent: OnStop
	// child: OnStop
	// child: OnShutdown
	// parent: OnShutdown
	// -- shutdown shutdown restarts: 1
}

// A Func leaf runs its function on one goroutine; returning nil is a normal
// exit: the service stops itself and ends in state shutdown.
func ExampleFunc() {
	ctx := context.Background()
	nop := zerolog.Nop()
	release := make(chan struct{})
	job := service.Func("job", func(ctx context.Context) error {
		<-release // let Start return first, so the output is deterministic
		fmt.Println("job: working")
		return nil
	})
	job.Configure(service.Config{Logger: &nop})
	if err := service.Start(ctx, job); err != nil {
		fmt.Println("Start:", err)
		return
	}
	fmt.Println(job.ShortLabel(), job.State())
	close(release)
	err := job.WaitUntilStopped(ctx)
	fmt.Println("WaitUntilStopped:", err)
	fmt.Println(job.ShortLabel(), job.State(), "crash reason:", job.CrashReason())

	// Output:
	// job running
	// job: working
	// WaitUntilStopped: <nil>
	// job shutdown crash reason: <nil>
}
