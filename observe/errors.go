package observe

import "errors"

// ErrSystemdInUse is returned by Systemd.WorkerPhase at StepStarting when
// the Systemd already serves another Worker's run.
var ErrSystemdInUse = errors.New("observe: Systemd already serves a running Worker")
