package service

import (
	"testing"
	"unsafe"
)

// TestBaseSizeClass guards the idle-memory target (bench/README.md: at
// most 1 KiB per idle supervised service): Base fits the allocator's
// 320-byte size class, a field more moves every service to the next (352)
// and a supervised idle service past 1 KiB. A field a Base needs rarely
// belongs in the run's extras (see runExtras.addedUp) or packed with
// another (see Base.kids).
func TestBaseSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Base{}); n > 320 {
		t.Errorf("Base is %d bytes, past its 320-byte size class", n)
	}
}
