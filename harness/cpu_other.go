//go:build !unix

package harness

import "github.com/twbench/twbench/report"

// processCPU is not read on this system.
func processCPU() (report.CPUSample, bool) { return report.CPUSample{}, false }
