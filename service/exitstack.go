package service

import (
	"errors"
)

// defer registers fn on the exit stack.
//
// The extras are made before the closed bit is read: closeTasks sets it
// without r.mu, and a stop that then finds no extras (hasExitStack) skips
// the exit stack without taking r.mu. Made after the read, they could
// appear after that look: fn pushed, nil returned, never run.
func (r *run) pushExit(fn func() error) error {
	x, _ := r.extras()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tasks.Load()&tasksClosed != 0 {
		return ErrStopping
	}
	x.exit = append(x.exit, fn)
	return nil
}

// hasExitStack reports whether anything was pushed on the exit stack.
func (r *run) hasExitStack() bool {
	x := r.extra.Load()
	if x == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(x.exit) > 0
}

// runExitStack runs the exit stack, last in first out, and empties it.
func (r *run) runExitStack() error {
	x := r.extra.Load()
	if x == nil {
		return nil // nothing was ever deferred
	}
	r.mu.Lock()
	stack := x.exit
	x.exit = nil
	r.mu.Unlock()
	var errs []error
	for i := len(stack) - 1; i >= 0; i-- {
		if err := callSafe(stack[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// callSafe calls fn, turning a panic into a *PanicError.
func callSafe(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	return fn()
}
