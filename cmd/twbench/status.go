package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/twbench/twbench/harness"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
)

// status tells stderr what a run is doing: a line as each scenario starts,
// and a progress bar while its load runs when stderr is a terminal, with
// each end's TIME_WAIT as it is sampled; for a watched command, a live
// line under its output.
type status struct {
	w   io.Writer
	bar bool
	// line is the live line a watched command's output passes through;
	// nil for run.
	line *liveLine
}

// Watching says what runs, and keeps a live line under the command's
// output if s says so.
func (s status) Watching(command []string, target string, live harness.Live) (stop func()) {
	against := ""
	if target != "" {
		against = " against " + target
	}
	// The command's output is under way: the line goes in turn with it.
	w := s.w
	if s.line != nil {
		w = s.line
	}
	fmt.Fprintf(w, "twbench watch: %s%s\n", report.CommandLine(command, 1000), against)
	if !s.bar || s.line == nil {
		return func() {}
	}
	return s.line.watching(filepath.Base(command[0]), live)
}

func (s status) Starting(sc scenario.Scenario, target string) {
	fmt.Fprintf(s.w, "twbench: %s: %s, closer %s, %s against %s\n",
		sc.Name, sc.Protocol, sc.Closer, sc.Load(), target)
}

// Loading draws a progress bar while the load runs, if s says so, and
// returns the function that removes it.
func (s status) Loading(sc scenario.Scenario, p harness.Progress, live harness.Live) (stop func()) {
	if !s.bar {
		return func() {}
	}
	byRequests := sc.Requests > 0 && (sc.Duration == 0 ||
		(sc.Rate > 0 && float64(sc.Requests)/sc.Rate < time.Duration(sc.Duration).Seconds()))
	total := time.Duration(sc.Duration).Milliseconds()
	if byRequests {
		total = sc.Requests
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(s.w),
		progressbar.OptionSetDescription(sc.Name),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
	stopTicks := everyTick(func(elapsed time.Duration) {
		n := p.Completed()
		desc := fmt.Sprintf("%s %d req, %.0f/s, %d errors", sc.Name, n, float64(n)/elapsed.Seconds(), p.Failed())
		if tw := timeWaitText(live); tw != "" {
			desc += " · " + tw
		}
		bar.Describe(desc)
		if byRequests {
			_ = bar.Set64(n)
		} else {
			_ = bar.Set64(min(elapsed.Milliseconds(), total))
		}
	})
	return func() {
		stopTicks()
		_ = bar.Clear()
	}
}
