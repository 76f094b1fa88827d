package observe_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/observe"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// A Worker under systemd tells it when the tree is up (READY=1) and when
// its stop begins (STOPPING=1), with STATUS= for "systemctl status"; with
// WatchdogSec= in the unit it also pings the watchdog while the tree is
// healthy. Here a socket of the example's own plays systemd, which sets
// NOTIFY_SOCKET for a unit of Type=notify. Outside systemd the extension
// does nothing.
func ExampleSystemd() {
	dir, err := os.MkdirTemp("", "sd")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	addr := &net.UnixAddr{Name: filepath.Join(dir, "notify"), Net: "unixgram"}
	systemd, err := net.ListenUnixgram("unixgram", addr)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer systemd.Close()
	os.Setenv("NOTIFY_SOCKET", addr.Name)
	defer os.Unsetenv("NOTIFY_SOCKET")

	root := supervisor.New(supervisor.Spec{Service: service.Config{Name: "root"}})
	api := service.Func("api", func(ctx context.Context) error {
		<-ctx.Done()
		return nil
	})
	if err := root.Add(context.Background(), api); err != nil {
		fmt.Println(err)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	quiet := zerolog.Nop()
	w := &mode.Worker{
		Service:    root,
		Logger:     &quiet,
		Ready:      stop, // stop as soon as the tree is up
		Extensions: []mode.Extension{&observe.Systemd{}},
	}
	if err := w.Run(ctx); err != nil {
		fmt.Println(err)
		return
	}

	// What systemd received, up to STOPPING=1.
	_ = systemd.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	for {
		n, err := systemd.Read(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		msg := string(buf[:n])
		if strings.HasPrefix(msg, "STATUS=") {
			continue // an update a second after a change: none here, unless the machine is slow
		}
		fmt.Printf("%q\n", msg)
		if strings.HasPrefix(msg, "STOPPING=1") {
			break
		}
	}
	// Output:
	// "READY=1\nSTATUS=2/2 services running, 0 restarts"
	// "STOPPING=1\nSTATUS=stopping: 2/2 services running, 0 restarts"
}
