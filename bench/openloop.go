//go:build linux

package main

import (
	"context"
	"fmt"
	"strconv"
)

// openLoopRate is goal 5's arrival rate.
const openLoopRate = 20000

// openLoop measures goal 5: twbench's open-loop pacer at 20,000 requests
// per second against its built-in target, keep-alive, so that what is
// measured is the pacer and not the cost of connections.
func (b *bench) openLoop(ctx context.Context) ([]result, error) {
	var achieved, lag []float64
	var late, unsent, errs int64
	for round := range b.rounds {
		l, err := b.twbench1(ctx, "run", "--protocol", "http1.1", "--closer", "none",
			"--rate", strconv.Itoa(openLoopRate), "-c", "64", "-d", b.duration.String(),
			"--format", "json", "--no-progress")
		if err != nil {
			return nil, fmt.Errorf("round %d: %w", round+1, err)
		}
		s := l.report.Schedule
		if s == nil {
			return nil, fmt.Errorf("round %d: twbench's report has no schedule for an open-loop run", round+1)
		}
		achieved = append(achieved, l.rate)
		lag = append(lag, float64(s.LagUS.P99))
		late += s.Late
		unsent += s.Unsent
		errs += l.errors
		fmt.Fprintf(b.log, "bench: round %d/%d  open loop at %d/s: %9.1f req/s, lag p99 %4d µs, %d late, %d unsent, %d errors\n",
			round+1, b.rounds, openLoopRate, l.rate, s.LagUS.P99, s.Late, s.Unsent, l.errors)
	}
	target := make([]float64, len(achieved))
	for i := range target {
		target[i] = openLoopRate
	}
	rate := ratio(5, fmt.Sprintf("open loop at %d/s: achieved / target", openLoopRate), "req/s", "the target rate", ">=", 0.99, achieved, target)
	rate.Note = fmt.Sprintf("over all rounds: %d sends more than 1 ms late, %d never sent, %d errors", late, unsent, errs)
	return []result{
		rate,
		bound(5, "open loop: scheduling lag p99", "µs", "<=", 1000, lag),
	}, nil
}
