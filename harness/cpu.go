package harness

import (
	"sync"
	"time"

	"github.com/twbench/twbench/report"
)

// cpuInterval is how often the process's CPU time is read during a load:
// often enough to place the first error of a run that ran out of ports
// within a tenth of a second, at a few microseconds a read.
const cpuInterval = 100 * time.Millisecond

// sampleCPU reads the process's CPU time now and every cpuInterval until
// the returned stop, which reads it once more and returns the samples.
func sampleCPU() (stop func() []report.CPUSample) {
	var samples []report.CPUSample
	add := func() {
		if s, ok := processCPU(); ok {
			samples = append(samples, s)
		}
	}
	add()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(cpuInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				add()
			}
		}
	})
	return func() []report.CPUSample {
		close(done)
		wg.Wait()
		add()
		return samples
	}
}
