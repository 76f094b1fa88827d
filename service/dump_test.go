package service_test

import (
	"testing"

	"github.com/gomode/mode/service"
)

func TestDump(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)
	must(t, service.Start(ctx, root))
	must(t, all[1].Restart(ctx))
	all[2].Diag().Set("committing")
	const hooks = " hooks=OnFirstStart,OnStart,OnStarted,OnStop,OnShutdown,OnRestart"
	want := "probe(root) [running]" + hooks + "\n" +
		"├── probe(a) [running] restarts=1" + hooks + "\n" +
		"│   ├── probe(a1) [running] restarts=1" + hooks + " flags=committing\n" +
		"│   └── probe(a2) [running] restarts=1" + hooks + "\n" +
		"└── probe(b) [running]" + hooks + "\n" +
		"    └── probe(b1) [running]" + hooks + "\n"
	if got := service.Dump(root); got != want {
		t.Fatalf("Dump:\n%s\nwant:\n%s", got, want)
	}
	must(t, root.Stop(ctx))
	if service.Dump(nil) != "" {
		t.Fatal("Dump(nil) not empty")
	}
}
