package seam_test

import (
	"context"
	"testing"

	"github.com/gomode/mode/internal/seam"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Marks say which supervisors' goroutines wait for the code holding a ctx.
func TestMarks(t *testing.T) {
	var a, b, c seam.Owner
	bg := context.Background()
	ma := seam.WithMark(bg, &a, false)
	mab := seam.WithMark(ma, &b, true) // b's goroutine runs code a waits for
	mb := seam.WithMark(ma, &b, false) // b's own operation: a does not wait
	cases := []struct {
		name string
		ctx  context.Context
		sup  *seam.Owner
		want bool
	}{
		{"unmarked", bg, &a, false},
		{"own mark", ma, &a, true},
		{"other's mark", ma, &b, false},
		{"kept marks: inner", mab, &b, true},
		{"kept marks: outer", mab, &a, true},
		{"fresh mark drops the outer", mb, &a, false},
		{"never marked", mab, &c, false},
		{"unmarked again", seam.Unmarked(mab), &a, false},
		{"copied", seam.CopyMarks(bg, mab), &a, true},
		{"copy of nothing", seam.CopyMarks(ma, bg), &a, true},
	}
	for _, tc := range cases {
		if got := seam.Marked(tc.ctx, tc.sup); got != tc.want {
			t.Errorf("%s: Marked = %v, want %v", tc.name, got, tc.want)
		}
	}
	if seam.Unmarked(bg) != bg {
		t.Error("Unmarked made a new ctx for an unmarked one")
	}
}
