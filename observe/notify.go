package observe

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// notifyTimeout bounds the sending of one notification. Linux queues
// net.unix.max_dgram_qlen (10) datagrams on a unixgram socket, then the
// sender blocks until the reader reads: a stalled systemd (or a socket
// nobody reads) would otherwise block the watchdog loop and the Worker's
// StepRunning and StepStopping for ever.
const notifyTimeout = time.Second

// notify sends state to systemd, as go-systemd's daemon.SdNotify does
// (reading NOTIFY_SOCKET, leaving it set), but giving up after
// notifyTimeout.
func notify(state string) error {
	if err := sdNotify(state); err != nil {
		key, _, _ := strings.Cut(state, "\n")
		return fmt.Errorf("observe: sd_notify %s: %w", key, err)
	}
	return nil
}

func sdNotify(state string) error {
	addr := &net.UnixAddr{Name: os.Getenv("NOTIFY_SOCKET"), Net: "unixgram"}
	if addr.Name == "" {
		return nil
	}
	conn, err := net.DialUnix(addr.Net, nil, addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetWriteDeadline(time.Now().Add(notifyTimeout)); err != nil {
		return err
	}
	_, err = conn.Write([]byte(state))
	return err
}
