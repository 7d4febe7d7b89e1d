//go:build unix

package harness

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

var (
	interruptSignal os.Signal = syscall.SIGINT
	killSignal      os.Signal = syscall.SIGKILL
)

// ownProcessGroup makes the command the leader of a process group of its
// own, so that the group, the command and what it started, can be
// signalled as one. The terminal's Ctrl-C reaches twbench alone, which
// passes it on.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
}

// signalGroup sends sig to the command's process group, or to the
// command alone if it has no group of its own; a command that has gone is
// no error.
func (c *command) signalGroup(sig os.Signal) {
	if c.cmd.Process == nil {
		return
	}
	if syscall.Kill(-c.cmd.Process.Pid, sig.(syscall.Signal)) != nil {
		_ = c.cmd.Process.Signal(sig)
	}
}

// exitStatus returns the command's exit status, or -1 and the name of the
// signal that ended it.
func exitStatus(st *os.ProcessState) (code int, signal string) {
	ws, ok := st.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return -1, unix.SignalName(ws.Signal())
	}
	return st.ExitCode(), ""
}
