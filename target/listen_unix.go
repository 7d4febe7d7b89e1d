//go:build unix

package target

import (
	"fmt"

	"golang.org/x/sys/unix"
)

func setListenOptions(fd uintptr, o ListenOptions) error {
	if o.NoReuseAddr {
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 0); err != nil {
			return fmt.Errorf("clear SO_REUSEADDR: %w", err)
		}
	}
	if o.ReusePort > 1 {
		if err := unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			return fmt.Errorf("set SO_REUSEPORT: %w", err)
		}
	}
	return nil
}
