//go:build unix

package main

import (
	"syscall"

	"github.com/twbench/twbench/harness"
)

// raiseFileLimit raises the soft limit on open files to the hard limit:
// each connection in flight is a descriptor, two with the built-in target.
// (Go's runtime does this too at start; doing it here says so in the
// report, and keeps it true if that ever changes.)
func raiseFileLimit() harness.FileLimit {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return harness.FileLimit{}
	}
	if r.Cur < r.Max {
		raised := r
		raised.Cur = r.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			r = raised
		}
	}
	// The fields are uint64 on Linux and darwin, int64 on FreeBSD.
	return harness.FileLimit{Known: true, Soft: uint64(r.Cur), Hard: uint64(r.Max)}
}
