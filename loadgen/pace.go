package loadgen

import (
	"math"
	"time"
)

// dueAt returns when send number i (from 0) is due, relative to the start
// of an open-loop run at rate sends per second. Sends are spaced evenly and
// timed from the start, never from the previous send, so a late send does
// not push back the ones after it.
func dueAt(rate float64, i int64) time.Duration {
	ns := float64(i) * float64(time.Second) / rate
	if ns >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(ns)
}
