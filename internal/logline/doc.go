// Package logline holds the conventions the module's log lines follow, so
// that package service and package supervisor write them alike:
//
//   - A duration is written as text with its unit (time.Duration's
//     String), rounded: to the millisecond from 1ms up, to the microsecond
//     below ("74ms", "1.5s", "250µs"). A number without a unit is a count.
//   - An error that joins several (errors.Join, such as a Stop's report) is
//     written as one line per joined error, each carrying the text of the
//     wraps around it, instead of one line with newlines inside.
package logline
