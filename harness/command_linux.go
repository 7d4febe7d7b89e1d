package harness

import "syscall"

// dieWithParent has the kernel kill the command if the thread that
// started it ends: if twbench dies, as on a second Ctrl-C, the command
// does not run on unwatched.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
