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

// due returns when send number i of c's open-loop schedule is due, from
// the start of the run: dueAt, after the schedule's offset.
func (c *Config) due(i int64) time.Duration {
	d := dueAt(c.Rate, i)
	if d > math.MaxInt64-c.Offset {
		return math.MaxInt64
	}
	return c.Offset + d
}

// sends returns how many sends c's open-loop schedule holds: those due
// before the end of the duration, at most the request count.
func (c *Config) sends() int64 {
	n := int64(math.MaxInt64)
	// Send i is due at Offset + i/rate: count those due before the
	// duration. The count is capped at what an int64 holds before it
	// becomes one (Validate bounds the rate, but the arithmetic must not
	// depend on it), and dueAt's rounding moves it by a send or two at most.
	if d := c.Duration; d > 0 {
		if f := math.Ceil((d - c.Offset).Seconds() * c.Rate); f < math.MaxInt64 {
			n = max(int64(f), 0)
			for n > 0 && c.due(n-1) >= d {
				n--
			}
			for n < math.MaxInt64 && c.due(n) < d {
				n++
			}
		}
	}
	if c.Requests > 0 {
		n = min(n, c.Requests)
	}
	return n
}
