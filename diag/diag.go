package diag

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Diag is a set of string flags describing what a service is doing now
// (for example "starting", "stopping", "waiting for db").
//
// The zero value is an empty set, ready to use; no constructor exists. All
// methods use a pointer receiver and are safe for concurrent use by any number
// of goroutines. A Diag must not be copied after first use. Flags form a plain
// set (see the package documentation).
type Diag struct {
	mu    sync.Mutex
	flags []string // sorted, no duplicates; backing array reused after Unset
}

// Set adds flag to the set. Setting a flag that is already set does nothing
// (idempotent; the set does not count). The empty string is ignored.
func (d *Diag) Set(flag string) {
	if flag == "" {
		return
	}
	d.mu.Lock()
	if i, found := slices.BinarySearch(d.flags, flag); !found {
		d.flags = slices.Insert(d.flags, i, flag)
	}
	d.mu.Unlock()
}

// Unset removes flag from the set. Removing a flag that is not set does
// nothing (idempotent). One Unset removes a flag however many times it was Set.
func (d *Diag) Unset(flag string) {
	d.mu.Lock()
	if i, found := slices.BinarySearch(d.flags, flag); found {
		d.flags = slices.Delete(d.flags, i, i+1)
	}
	d.mu.Unlock()
}

// Clear removes every flag. It keeps the allocated storage for reuse, so a
// service may call it on each restart without allocating.
func (d *Diag) Clear() {
	d.mu.Lock()
	clear(d.flags)
	d.flags = d.flags[:0]
	d.mu.Unlock()
}

// Has reports whether flag is currently set.
func (d *Diag) Has(flag string) bool {
	d.mu.Lock()
	_, found := slices.BinarySearch(d.flags, flag)
	d.mu.Unlock()
	return found
}

// Flags returns a snapshot of the set flags in ascending (byte-wise) order.
// It returns nil when no flag is set. The caller owns the returned slice.
func (d *Diag) Flags() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.flags) == 0 {
		return nil
	}
	return slices.Clone(d.flags)
}

// Len returns the number of flags currently set.
func (d *Diag) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.flags)
}

// String returns the set flags in ascending order joined by ", ", or the
// empty string when none is set.
func (d *Diag) String() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.flags, ", ")
}

// Transition sets flag, runs fn, unsets flag and returns fn's error unchanged.
// The flag is unset even when fn panics; the panic then continues after the
// flag is gone. No lock is held while fn runs, so fn may use d freely.
//
// Because flags form a plain set, the flag is removed on return even if it
// was already set before Transition was called. A nil fn returns an error
// wrapping ErrNilFunc and an empty flag one wrapping ErrEmptyFlag; in both
// cases nothing is set and nothing runs.
func (d *Diag) Transition(flag string, fn func() error) error {
	if fn == nil {
		return fmt.Errorf("%w (transition to %q)", ErrNilFunc, flag)
	}
	if flag == "" {
		return fmt.Errorf("%w (transition)", ErrEmptyFlag)
	}
	d.Set(flag)
	defer d.Unset(flag)
	return fn()
}
