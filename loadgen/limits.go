package loadgen

import (
	"math"
	"time"
)

// Bounds on what a Config may ask for, beyond those of validate.go: a value
// past them could not be honoured, and is refused before the run.
const (
	// MaxRate bounds the open-loop rate. One pacer hands every send to a
	// worker over a channel, some hundreds of nanoseconds each: no host
	// honours ten million a second, and the schedule's count stays within
	// an int64 for any duration.
	MaxRate = 1e7
	// MinHeaderBytes and MaxHeaderBytes bound Config.MaxHeaderBytes: a
	// status line and a few fields at least, and at most what a server
	// might mean (net/http's server takes 1 MB).
	MinHeaderBytes = 1 << 10
	MaxHeaderBytes = 1 << 20
	// MinTimeout bounds Timeout from below: a connect on loopback takes
	// tens of microseconds, and a shorter timeout fails every request at
	// once.
	MinTimeout = time.Millisecond
)

// The fields of the bounds on a response, as problems name them (the
// scenario keys they would take).
const (
	FieldMaxHeaderBytes = "max_header_bytes"
	FieldMaxBodyBytes   = "max_body_bytes"
)

// limitProblems adds the fields of c past the bounds above.
func (c Config) limitProblems(p *problems) {
	if math.IsNaN(c.Rate) || c.Rate > MaxRate {
		p.add(FieldRate, "%g: want at most %g requests per second, what one pacer can hand out", c.Rate, float64(MaxRate))
	}
	if c.Timeout > 0 && c.Timeout < MinTimeout {
		p.add(FieldTimeout, "%v: want at least %v: a connect takes longer", c.Timeout, MinTimeout)
	}
	if n := c.MaxHeaderBytes; n != 0 && (n < MinHeaderBytes || n > MaxHeaderBytes) {
		p.add(FieldMaxHeaderBytes, "%d: want 0 (the default, %d) or %d to %d", n, DefaultMaxHeaderBytes, MinHeaderBytes, MaxHeaderBytes)
	}
	if n := c.MaxBodyBytes; n < 0 {
		p.add(FieldMaxBodyBytes, "%d: want 0 (the default, %d) or more", n, DefaultMaxBodyBytes)
	}
}
