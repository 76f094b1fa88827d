package strategy_test

import (
	"fmt"
	"time"

	"github.com/gomode/mode/strategy"
)

// A one-for-all supervisor with three children: a database pool, a
// Temporary warm-up job and an HTTP server. The pool crashes.
func ExampleDecide() {
	types := []strategy.RestartType{strategy.Permanent, strategy.Temporary, strategy.Transient}
	plan, err := strategy.Decide(strategy.OneForAll, types, 0, strategy.Crash)
	if err != nil {
		panic(err)
	}
	fmt.Println("stop:", plan.Stop)
	fmt.Println("remove:", plan.Remove)
	fmt.Println("restart:", plan.Restart)
	fmt.Println("counts:", plan.Counts)

	// The Transient server ending normally sets nothing off.
	plan, _ = strategy.Decide(strategy.OneForAll, types, 2, strategy.Normal)
	fmt.Printf("%+v\n", plan)
	// Output:
	// stop: [2 1]
	// remove: [1]
	// restart: [0 2]
	// counts: true
	// {Stop:[] Restart:[] Remove:[] Counts:false}
}

// The default intensity allows three restarts within five seconds; a
// fourth within the window is refused (the supervisor escalates). A restart
// exactly five seconds after an old one no longer counts the old one.
func ExampleWindow() {
	w, err := strategy.NewWindow(strategy.Intensity{})
	if err != nil {
		panic(err)
	}
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, ms := range []int{0, 1000, 2000, 5000, 5500} {
		at := start.Add(time.Duration(ms) * time.Millisecond)
		fmt.Printf("t=%dms allowed=%v\n", ms, w.Allow(at))
	}
	// Output:
	// t=0ms allowed=true
	// t=1000ms allowed=true
	// t=2000ms allowed=true
	// t=5000ms allowed=true
	// t=5500ms allowed=false
}

// Backoff delays grow from Min by Factor up to Max.
func ExampleBackoffState() {
	s, err := strategy.NewBackoffState(strategy.Backoff{Min: time.Second, Max: 5 * time.Second, NoJitter: true})
	if err != nil {
		panic(err)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 4 {
		d := s.Next(now, 0.5)
		fmt.Println(d)
		now = now.Add(d)
	}
	// Output:
	// 1s
	// 2s
	// 4s
	// 5s
}
