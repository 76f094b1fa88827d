package strategy

import (
	"errors"
	"testing"
)

func TestStrings(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{OneForOne.String(), "one_for_one"},
		{OneForAll.String(), "one_for_all"},
		{RestForOne.String(), "rest_for_one"},
		{Strategy(7).String(), "Strategy(7)"},
		{Permanent.String(), "permanent"},
		{Transient.String(), "transient"},
		{Temporary.String(), "temporary"},
		{RestartType(-1).String(), "RestartType(-1)"},
		{Normal.String(), "normal"},
		{Crash.String(), "crash"},
		{ExitKind(2).String(), "ExitKind(2)"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
}

func TestZeroValues(t *testing.T) {
	var s Strategy
	var r RestartType
	var k ExitKind
	if s != OneForOne || r != Permanent || k != Normal {
		t.Fatalf("zero values: %v %v %v", s, r, k)
	}
}

func TestValid(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"OneForOne", OneForOne.Valid(), true},
		{"OneForAll", OneForAll.Valid(), true},
		{"RestForOne", RestForOne.Valid(), true},
		{"Strategy(-1)", Strategy(-1).Valid(), false},
		{"Strategy(3)", Strategy(3).Valid(), false},
		{"Permanent", Permanent.Valid(), true},
		{"Transient", Transient.Valid(), true},
		{"Temporary", Temporary.Valid(), true},
		{"RestartType(-1)", RestartType(-1).Valid(), false},
		{"RestartType(3)", RestartType(3).Valid(), false},
		{"Normal", Normal.Valid(), true},
		{"Crash", Crash.Valid(), true},
		{"ExitKind(-1)", ExitKind(-1).Valid(), false},
		{"ExitKind(2)", ExitKind(2).Valid(), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s.Valid() = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if err := Strategy(9).check(); !errors.Is(err, ErrUnknownStrategy) {
		t.Errorf("check = %v", err)
	}
}

func TestShouldRestart(t *testing.T) {
	tests := []struct {
		typ  RestartType
		kind ExitKind
		want bool
	}{
		{Permanent, Normal, true},
		{Permanent, Crash, true},
		{Transient, Normal, false},
		{Transient, Crash, true},
		{Temporary, Normal, false},
		{Temporary, Crash, false},
		{RestartType(5), Crash, false},
		{Permanent, ExitKind(5), false},
	}
	for _, tt := range tests {
		if got := ShouldRestart(tt.typ, tt.kind); got != tt.want {
			t.Errorf("ShouldRestart(%v, %v) = %v, want %v", tt.typ, tt.kind, got, tt.want)
		}
	}
}
