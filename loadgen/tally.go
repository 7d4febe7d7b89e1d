package loadgen

import (
	"context"
	"errors"
	"sync/atomic"
	"syscall"
	"time"
)

// tally is what one of the generator's drivers (a worker, or an event
// loop) counted. The generator sums the tallies when the run is over;
// completed, opened and errors are published for progress reports while it
// runs. Only the driver that owns a tally writes it.
type tally struct {
	g *Generator

	completed atomic.Int64
	opened    atomic.Int64
	errors    [NumErrorClasses]atomic.Int64

	requests    int64
	aborted     int64
	cut         int64
	late        int64
	closeErrors [NumErrorClasses]int64
	firstError  [NumErrorClasses]string
	// Per source address (index of Config.Sources): connections opened,
	// and connects that found no free port.
	sourceConns   []int64
	sourceNoPorts []int64
	statuses      map[int]int64
	closes        Closes
	connLifetime  time.Duration
	lastEnd       time.Time
}

func (t *tally) init(g *Generator) {
	t.g = g
	t.statuses = make(map[int]int64, 4)
	t.sourceConns = make([]int64, len(g.cfg.Sources))
	t.sourceNoPorts = make([]int64, len(g.cfg.Sources))
}

// countOpened counts a connection the kernel made from source (an index
// of Config.Sources, ignored without sources).
func (t *tally) countOpened(source int) {
	t.opened.Add(1)
	if len(t.sourceConns) > 0 {
		t.sourceConns[source]++
	}
}

// cutOff reports whether err is the generator's cutting off of the
// requests in flight, or the cancelled context a dial saw before the cut
// ran.
func (t *tally) cutOff(err error) bool {
	return t.g.cutOff() || errors.Is(err, context.Canceled)
}

// fail counts a failed request on a connection from source; a request cut
// off by an interruption or the end of the duration is not a failure, but
// counted as cut off.
func (t *tally) fail(err error, source int) {
	if t.cutOff(err) {
		t.countCut()
		return
	}
	t.count(Classify(err), err)
	if errors.Is(err, syscall.EADDRNOTAVAIL) && len(t.sourceNoPorts) > 0 {
		t.sourceNoPorts[source]++
	}
}

// countCut counts a request cut off: by an interruption (aborted) or by
// the end of the duration (cut).
func (t *tally) countCut() {
	if t.g.ending.Load() && !t.g.aborting.Load() {
		t.cut++
	} else {
		t.aborted++
	}
}

// count counts a failed request of class, with its error if it has one.
func (t *tally) count(class ErrorClass, err error) {
	if t.errors[class].Add(1) == 1 {
		t.g.markOnset(class)
	}
	if err != nil && t.firstError[class] == "" {
		t.firstError[class] = t.g.describe(err)
	}
	t.g.failed.Add(1)
}

// addTo adds the tally to res.
func (t *tally) addTo(res *Result) {
	res.Requests += t.requests
	res.Connections += t.opened.Load()
	res.Aborted += t.aborted
	res.Cut += t.cut
	for c := range t.errors {
		res.Errors[c] += t.errors[c].Load()
		if res.FirstError[c] == "" {
			res.FirstError[c] = t.firstError[c]
		}
	}
	for i := range res.Sources {
		res.Sources[i].Connections += t.sourceConns[i]
		res.Sources[i].NoPort += t.sourceNoPorts[i]
	}
	res.Late += t.late
	for c, n := range t.closeErrors {
		res.CloseErrors[c] += n
	}
	for code, n := range t.statuses {
		res.StatusCodes[code] += n
	}
	res.Closes.add(t.closes)
	res.ConnLifetime += t.connLifetime
}
