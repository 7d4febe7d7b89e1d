//go:build unix && !linux

package harness

import "syscall"

// dieWithParent does nothing here: only Linux has PR_SET_PDEATHSIG.
func dieWithParent(*syscall.SysProcAttr) {}
