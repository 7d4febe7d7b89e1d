package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// WriteCSV writes the sampled series: one row per sample per end (the
// target's two, then each watched endpoint's), with
// the run's scenario, the sample's time (absolute, and in seconds from the
// load's start), the requests and errors completed by then, and the count
// of each socket state. An end that was not sampled has no rows.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	header := []string{"run", "end", "time", "t", "requests", "errors"}
	for _, s := range sockstat.ConnStates() {
		header = append(header, s.String())
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		start, err := time.Parse(time.RFC3339Nano, run.StartedAt)
		if err != nil {
			return fmt.Errorf("report: csv: run %s: started_at %q: %w", run.Scenario.Name, run.StartedAt, err)
		}
		for _, end := range csvEnds(run) {
			for _, p := range end.e.Series {
				// The load's progress at the sample: the throughput point
				// taken with it, or for a series from a remote agent (its
				// own samples and times) the last one taken before it.
				var req, errs string
				if tp, ok := throughputAt(run.Throughput, p.T); ok {
					req = strconv.FormatInt(tp.Requests, 10)
					errs = strconv.FormatInt(tp.Errors, 10)
				}
				at := start.Add(time.Duration(p.T * float64(time.Second))).UTC()
				rec := []string{run.Scenario.Name, end.name, at.Format("2006-01-02T15:04:05.000Z07:00"),
					strconv.FormatFloat(p.T, 'f', 3, 64), req, errs}
				for _, s := range sockstat.ConnStates() {
					rec = append(rec, strconv.FormatUint(uint64(p.Counts[s]), 10))
				}
				if err := cw.Write(rec); err != nil {
					return fmt.Errorf("report: write csv: %w", err)
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: write csv: %w", err)
	}
	return nil
}

// csvEnds are a run's ends as the CSV's end column names them: client,
// server, then each watched endpoint's as upstream.client,
// upstream.server.
func csvEnds(r *Run) []namedEnd {
	ends := []namedEnd{{"client", &r.Client}, {"server", &r.Server}}
	for i := range r.Watched {
		w := &r.Watched[i]
		ends = append(ends, namedEnd{w.Name + ".client", &w.Client}, namedEnd{w.Name + ".server", &w.Server})
	}
	return ends
}

// throughputAt returns the last throughput point taken at or before t
// (within a millisecond, the resolution of the series' times).
func throughputAt(points []ThroughputPoint, t float64) (ThroughputPoint, bool) {
	var found ThroughputPoint
	ok := false
	for _, tp := range points {
		if tp.T > t+0.0005 {
			break
		}
		found, ok = tp, true
	}
	return found, ok
}
