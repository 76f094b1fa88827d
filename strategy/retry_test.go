package strategy

import (
	"errors"
	"fmt"
	"testing"
)

func TestRetryAfterFailedStart(t *testing.T) {
	group := []int{1, 2, 3}
	tests := []struct {
		s      Strategy
		group  []int
		failed int
		want   Plan
	}{
		{OneForAll, group, 1, Plan{Restart: []int{1, 2, 3}, Counts: true}},
		{OneForAll, group, 2, Plan{Stop: []int{1}, Restart: []int{1, 2, 3}, Counts: true}},
		{OneForAll, group, 3, Plan{Stop: []int{2, 1}, Restart: []int{1, 2, 3}, Counts: true}},
		{RestForOne, group, 1, Plan{Restart: []int{1, 2, 3}, Counts: true}},
		{RestForOne, group, 2, Plan{Restart: []int{2, 3}, Counts: true}},
		{RestForOne, group, 3, Plan{Restart: []int{3}, Counts: true}},
		{OneForOne, []int{2}, 2, Plan{Restart: []int{2}, Counts: true}},
		{OneForOne, group, 2, Plan{Restart: []int{2, 3}, Counts: true}},
		{OneForAll, []int{0, 4}, 4, Plan{Stop: []int{0}, Restart: []int{0, 4}, Counts: true}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%v/%d", tt.s, tt.group, tt.failed), func(t *testing.T) {
			got, err := RetryAfterFailedStart(tt.s, tt.group, tt.failed)
			if err != nil {
				t.Fatal(err)
			}
			if !planEqual(got, tt.want) {
				t.Fatalf("plan = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRetryDoesNotAliasGroup(t *testing.T) {
	group := []int{0, 1}
	p, err := RetryAfterFailedStart(OneForAll, group, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.Restart[0] = 99
	if group[0] != 0 {
		t.Fatal("plan shares memory with the caller's group")
	}
}

func TestRetryErrors(t *testing.T) {
	tests := []struct {
		name   string
		s      Strategy
		group  []int
		failed int
		want   error
	}{
		{"unknown strategy", Strategy(5), []int{0}, 0, ErrUnknownStrategy},
		{"empty group", OneForAll, nil, 0, ErrBadInput},
		{"not in group", RestForOne, []int{0, 2}, 1, ErrBadInput},
		{"descending", OneForAll, []int{2, 1}, 1, ErrBadInput},
		{"duplicate", OneForAll, []int{1, 1}, 1, ErrBadInput},
		{"negative", OneForOne, []int{-1}, -1, ErrBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := RetryAfterFailedStart(tt.s, tt.group, tt.failed); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
