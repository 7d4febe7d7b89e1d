//go:build linux

package main

import (
	"context"
	"fmt"
	"strconv"
)

// openLoopRate is goal 5's arrival rate.
const openLoopRate = 20000

// openLoop measures goal 5: twbench's open-loop schedule at 20,000
// requests per second against its built-in target, keep-alive, so that what
// is measured is the schedule and not the cost of connections; with the
// socket sampler on and off (--no-sampling), alternating, as the sampler's
// walk of the socket table takes a core while it lasts.
func (b *bench) openLoop(ctx context.Context) ([]result, error) {
	type runs struct {
		achieved, lag      []float64
		late, unsent, errs int64
	}
	var on, off runs
	for round := range b.rounds {
		order := []bool{true, false}
		if round%2 == 1 {
			order = []bool{false, true}
		}
		for _, sampling := range order {
			args := []string{"run", "--protocol", "http1.1", "--closer", "none",
				"--rate", strconv.Itoa(openLoopRate), "-c", "64", "-d", b.duration.String(),
				"--format", "json", "--no-progress"}
			r, name := &on, "on"
			if !sampling {
				args = append(args, "--no-sampling")
				r, name = &off, "off"
			}
			l, err := b.twbench1(ctx, args...)
			if err != nil {
				return nil, fmt.Errorf("round %d: %w", round+1, err)
			}
			s := l.report.Schedule
			if s == nil {
				return nil, fmt.Errorf("round %d: twbench's report has no schedule for an open-loop run", round+1)
			}
			r.achieved = append(r.achieved, l.rate)
			r.lag = append(r.lag, float64(s.LagUS.P99))
			r.late += s.Late
			r.unsent += s.Unsent
			r.errs += l.errors
			fmt.Fprintf(b.log, "bench: round %d/%d  open loop at %d/s, sampling %-3s %9.1f req/s, lag p50 %4d µs p99 %5d µs, %d late, %d unsent, %d errors\n",
				round+1, b.rounds, openLoopRate, name, l.rate, s.LagUS.P50, s.LagUS.P99, s.Late, s.Unsent, l.errors)
		}
	}
	target := make([]float64, len(on.achieved))
	for i := range target {
		target[i] = openLoopRate
	}
	var rs []result
	for _, r := range []struct {
		runs *runs
		what string
	}{{&on, "twbench"}, {&off, "twbench --no-sampling"}} {
		rate := ratio(5, fmt.Sprintf("open loop at %d/s: achieved / target, %s", openLoopRate, r.what), "req/s", "the target rate", ">=", 0.99, r.runs.achieved, target)
		rate.Note = fmt.Sprintf("over all rounds: %d sends more than 1 ms late, %d never sent, %d errors", r.runs.late, r.runs.unsent, r.runs.errs)
		rs = append(rs, rate, bound(5, "open loop: scheduling lag p99, "+r.what, "µs", "<=", 1000, r.runs.lag))
	}
	return rs, nil
}
