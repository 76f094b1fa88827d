// Package diag holds Diag, the set of string flags that tells what a service
// is doing right now (Python mode's Diag), and Transition, which raises a flag
// for the duration of a call (Python mode's transitions_to).
//
// A zero Diag is ready to use and is meant to be embedded by value, so it is
// kept small: a mutex and a sorted slice whose backing array is allocated on
// the first Set and then reused. Diag starts no goroutines.
//
// Flags form a plain set, not a counting set: setting a flag twice and
// unsetting it once removes it. Nested Transition calls with the same flag
// therefore clear the flag when the inner call returns. The empty string is
// not a flag: Set("") and Unset("") do nothing and Has("") is false.
package diag
