//go:build !unix

package harness

import (
	"os"
	"os/exec"
)

var (
	interruptSignal os.Signal = os.Interrupt
	killSignal      os.Signal = os.Kill
)

// ownProcessGroup does nothing on this system: the command alone is
// signalled.
func ownProcessGroup(cmd *exec.Cmd) {}

func (c *command) signalGroup(sig os.Signal) {
	if c.cmd.Process == nil {
		return
	}
	if c.cmd.Process.Signal(sig) != nil && sig != os.Kill {
		_ = c.cmd.Process.Kill()
	}
}

func exitStatus(st *os.ProcessState) (code int, signal string) { return st.ExitCode(), "" }
