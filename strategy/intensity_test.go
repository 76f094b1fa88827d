package strategy

import (
	"errors"
	"testing"
	"time"
)

func TestIntensityValidate(t *testing.T) {
	tests := []struct {
		name string
		in   Intensity
		want error
	}{
		{"zero", Intensity{}, nil},
		{"explicit", Intensity{MaxRestarts: 10, Window: time.Minute}, nil},
		{"never", Intensity{Never: true}, nil},
		{"negative max", Intensity{MaxRestarts: -1}, ErrBadSpec},
		{"negative window", Intensity{Window: -time.Second}, ErrBadSpec},
		{"never with max", Intensity{Never: true, MaxRestarts: 1}, ErrConflictingOptions},
		{"never with window", Intensity{Never: true, Window: time.Second}, ErrConflictingOptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestIntensityNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   Intensity
		want Intensity
	}{
		{"zero is default", Intensity{}, Intensity{MaxRestarts: 3, Window: 5 * time.Second}},
		{"window only", Intensity{Window: time.Minute}, Intensity{MaxRestarts: 3, Window: time.Minute}},
		{"max only", Intensity{MaxRestarts: 7}, Intensity{MaxRestarts: 7, Window: 5 * time.Second}},
		{"explicit kept", Intensity{MaxRestarts: 1, Window: time.Hour}, Intensity{MaxRestarts: 1, Window: time.Hour}},
		{"never", Intensity{Never: true}, Intensity{Never: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Normalize(); got != tt.want {
				t.Fatalf("Normalize = %+v, want %+v", got, tt.want)
			}
		})
	}
}
