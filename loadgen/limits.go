package loadgen

import "math"

// Bounds on what a Config may ask for, beyond those of validate.go: a value
// past them could not be honoured, and is refused before the run.
const (
	// MaxRate bounds the open-loop rate. One pacer hands every send to a
	// worker over a channel, some hundreds of nanoseconds each: no host
	// honours ten million a second, and the schedule's count stays within
	// an int64 for any duration.
	MaxRate = 1e7
)

// limitProblems adds the fields of c past the bounds above.
func (c Config) limitProblems(p *problems) {
	if math.IsNaN(c.Rate) || c.Rate > MaxRate {
		p.add(FieldRate, "%g: want at most %g requests per second, what one pacer can hand out", c.Rate, float64(MaxRate))
	}
}
