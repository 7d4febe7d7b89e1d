//go:build unix

package harness

import (
	"syscall"
	"time"

	"github.com/twbench/twbench/report"
)

// processCPU returns the process's CPU time so far, user and system.
func processCPU() (report.CPUSample, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return report.CPUSample{}, false
	}
	return report.CPUSample{At: time.Now(), User: time.Duration(ru.Utime.Nano()), System: time.Duration(ru.Stime.Nano())}, true
}
