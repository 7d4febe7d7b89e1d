package loadgen

import (
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// The event loop classifies a system call's errno without making its
// error: the class must be the one Classify gives the error the net
// package makes of it, for every errno.
func TestErrnoClassIsClassify(t *testing.T) {
	for e := unix.Errno(1); e < 200; e++ {
		err := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", e)}
		if got, want := errnoClass(e), Classify(err); got != want {
			t.Errorf("errnoClass(%d %v) = %v; want %v, as Classify", int(e), e, got, want)
		}
	}
}
