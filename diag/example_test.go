package diag_test

import (
	"fmt"

	"github.com/gomode/mode/diag"
)

func ExampleDiag() {
	var d diag.Diag // zero value is ready
	d.Set("starting")
	d.Set("connecting")
	fmt.Println(d.String())

	_ = d.Transition("migrating", func() error {
		fmt.Println("during:", d.Flags())
		return nil
	})
	d.Unset("connecting")
	d.Unset("starting")
	fmt.Println("after:", d.Flags(), d.Len())
	// Output:
	// connecting, starting
	// during: [connecting migrating starting]
	// after: [] 0
}
