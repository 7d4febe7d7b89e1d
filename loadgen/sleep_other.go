//go:build !linux

package loadgen

import "time"

// preciseSleepMax is the longest wait the pacer sleeps with preciseSleep.
const preciseSleepMax = 2 * time.Millisecond

// preciseSleep sleeps for d.
func preciseSleep(d time.Duration) { time.Sleep(d) }

// preciseThread does nothing here.
func preciseThread() (restore func()) { return func() {} }
