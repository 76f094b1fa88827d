package clock

import "context"

// BlockUntilAtMost waits until at most n timers are pending, so a test
// knows the code under test has stopped the timers it no longer needs
// (BlockUntil is the other way). It returns nil then, or ctx.Err() if ctx
// ends first. It does not poll.
func (f *Fake) BlockUntilAtMost(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		if len(f.timers) <= n {
			f.mu.Unlock()
			return nil
		}
		ch := f.changedLocked()
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
