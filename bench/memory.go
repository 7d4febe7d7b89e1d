//go:build linux

package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// memoryRate is goal 6's arrival rate: the default scenario's, new
// connections that the server closes.
const memoryRate = 4000

// memory measures goal 6: twbench's peak resident set over a long run
// against a 10 s run at the same rate (nothing may grow with the run's
// length), and with 1,000 keep-alive connections.
func (b *bench) memory(ctx context.Context) ([]result, error) {
	churn := func(d time.Duration) ([]string, string) {
		return []string{"run", "--target", b.url, "--protocol", "http1.0", "--closer", "server",
			"--rate", strconv.Itoa(memoryRate), "-c", "64", "-d", d.String(), "--format", "json", "--no-progress"}, d.String()
	}
	rounds := min(b.rounds, 2) // a long run is a minute
	var short, long []float64
	for round := range rounds {
		for _, d := range []time.Duration{10 * time.Second, b.long} {
			args, name := churn(d)
			l, err := b.twbench1(ctx, args...)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s run: %w", round+1, name, err)
			}
			mib := float64(l.maxRSS) / (1 << 20)
			fmt.Fprintf(b.log, "bench: round %d/%d  %s at %d/s: peak RSS %.1f MiB, %d requests\n", round+1, rounds, name, memoryRate, mib, l.requests)
			if d == b.long {
				long = append(long, mib)
			} else {
				short = append(short, mib)
			}
		}
	}
	var conns []float64
	for round := range rounds {
		l, err := b.twbench1(ctx, "run", "--target", b.url, "--protocol", "http1.1", "--closer", "none",
			"-c", "1000", "-d", "10s", "--format", "json", "--no-progress")
		if err != nil {
			return nil, fmt.Errorf("round %d, 1,000 connections: %w", round+1, err)
		}
		mib := float64(l.maxRSS) / (1 << 20)
		fmt.Fprintf(b.log, "bench: round %d/%d  1,000 keep-alive connections: peak RSS %.1f MiB, %.0f req/s, %d errors\n", round+1, rounds, mib, l.rate, l.errors)
		conns = append(conns, mib)
	}
	return []result{
		ratio(6, fmt.Sprintf("peak RSS, %v run / 10 s run at %d/s", b.long, memoryRate), "MiB", "the 10 s run", "<=", 1.10, long, short),
		bound(6, "peak RSS at 1,000 keep-alive connections", "MiB", "<=", 100, conns),
	}, nil
}
