package service

// State is where a service is in its lifecycle. String gives Python mode's words.
//
//	Init ──Start──▶ Starting ──▶ Running ──Stop──▶ Stopping ──▶ Shutdown
//	                   │            │                              │
//	            (rolled back)     Crash ──▶ Crashed ──Stop──▶ ... Restart
//	                   ▼
//	                  Init
type State int32

// The states. The zero value is Init.
const (
	Init State = iota
	Starting
	Running
	Stopping
	Shutdown
	Crashed
)

var stateNames = [...]string{"init", "starting", "running", "stopping", "shutdown", "crashed"}

// String returns Python mode's word for the state ("init", "running", ...).
func (s State) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return "unknown"
	}
	return stateNames[s]
}
