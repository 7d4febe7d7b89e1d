//go:build linux

package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The clients of goals 1 to 3. Keep-alive: one connection per client
// connection for the whole run. Churn: a new connection per request, the
// server closing first (twbench http1.0, ab, wrk with Connection: close)
// or the client (twbench http1.1). Each twbench client runs with its socket
// sampler on, as a user runs it, and off (--no-sampling): the client's cost
// apart from the sampler's.
var (
	twbenchKeepAlive = twbenchPair("twbench http1.1 --closer none", "--protocol", "http1.1", "--closer", "none")
	wrkKeepAlive     = wrkClient("wrk")
	heyKeepAlive     = heyClient("hey")
	twbenchServer    = twbenchPair("twbench http1.0 --closer server", "--protocol", "http1.0", "--closer", "server")
	twbenchClientCl  = twbenchPair("twbench http1.1 --closer client", "--protocol", "http1.1", "--closer", "client")
	abChurn          = abClient("ab")
	wrkChurn         = wrkClient("wrk -H 'Connection: close'", "-H", "Connection: close")
)

// throughput measures goals 1 to 3: requests per second against nginx,
// and the client's CPU time per request, in rounds that alternate the
// clients.
func (b *bench) throughput(ctx context.Context) ([]result, error) {
	var clients []client
	add := func(cs ...client) {
		for _, c := range cs {
			if !slices.ContainsFunc(clients, func(o client) bool { return o.name == c.name }) {
				clients = append(clients, c)
			}
		}
	}
	if b.wants(1) {
		add(twbenchKeepAlive.on, twbenchKeepAlive.off, wrkKeepAlive, heyKeepAlive)
	}
	if b.wants(2) {
		add(twbenchServer.on, twbenchServer.off, abChurn, wrkChurn, twbenchClientCl.on, twbenchClientCl.off)
	}
	if b.wants(3) {
		add(twbenchKeepAlive.on, twbenchKeepAlive.off, wrkKeepAlive, twbenchServer.on, twbenchServer.off, wrkChurn)
	}
	loads, err := b.alternate(ctx, clients)
	if err != nil {
		return nil, err
	}
	rate := func(l load) float64 { return l.rate }
	cmp := func(goal int, name, unit, op string, want float64, a, c client, f func(load) float64) result {
		r := ratio(goal, name, unit, c.name, op, want, figures(loads[a.name], f), figures(loads[c.name], f))
		r.Note = errorNote(loads, a.name, c.name)
		return r
	}
	// both compares twbench's runs with sampling on, then off, with c.
	both := func(goal int, name, unit, op string, want float64, a twbenchRuns, c client, f func(load) float64) []result {
		return []result{cmp(goal, fmt.Sprintf(name, "twbench"), unit, op, want, a.on, c, f),
			cmp(goal, fmt.Sprintf(name, "twbench --no-sampling"), unit, op, want, a.off, c, f)}
	}

	var rs []result
	if b.wants(1) {
		rs = append(rs, both(1, "keep-alive req/s: %s / wrk", "req/s", ">=", 1.0, twbenchKeepAlive, wrkKeepAlive, rate)...)
		rs = append(rs, both(1, "keep-alive req/s: %s / hey", "req/s", ">=", 2.0, twbenchKeepAlive, heyKeepAlive, rate)...)
	}
	if b.wants(2) {
		rs = append(rs, both(2, "new conn per request req/s: %s http1.0 / ab", "req/s", ">=", 1.2, twbenchServer, abChurn, rate)...)
		rs = append(rs, both(2, "new conn per request req/s: %s http1.0 / wrk close", "req/s", ">=", 1.0, twbenchServer, wrkChurn, rate)...)
		cc := cmp(2, "client closes / server closes req/s (twbench --no-sampling)", "req/s", ">=", 0.9, twbenchClientCl.off, twbenchServer.off, rate)
		cc.Note = strings.TrimSpace(cc.Note + " " + b.portSearch(ctx))
		rs = append(rs,
			cmp(2, "client closes / server closes req/s (twbench)", "req/s", ">=", 0.9, twbenchClientCl.on, twbenchServer.on, rate), cc)
	}
	if b.wants(3) {
		rs = append(rs, both(3, "CPU per request, keep-alive: %s / wrk", "µs", "<=", 1.0, twbenchKeepAlive, wrkKeepAlive, load.cpuPerRequest)...)
		rs = append(rs, both(3, "CPU per request, new conns: %s / wrk close", "µs", "<=", 1.0, twbenchServer, wrkChurn, load.cpuPerRequest)...)
	}
	return rs, nil
}

// twbenchRuns is a twbench client with its sampler on, and the same with
// it off.
type twbenchRuns struct{ on, off client }

func twbenchPair(name string, args ...string) twbenchRuns {
	return twbenchRuns{
		on:  twbenchClient(name, args...),
		off: twbenchClient(name+" --no-sampling", append(slices.Clone(args), "--no-sampling")...),
	}
}

// alternate runs each client once per round, each round in a rotated
// order so that no client always runs first or after the same one, and
// returns every client's loads by name.
func (b *bench) alternate(ctx context.Context, clients []client) (map[string][]load, error) {
	loads := make(map[string][]load)
	for round := range b.rounds {
		for i := range clients {
			c := clients[(i+round)%len(clients)]
			l, err := c.run(ctx, b)
			if err != nil {
				return loads, fmt.Errorf("round %d, %s: %w", round+1, c.name, err)
			}
			fmt.Fprintf(b.log, "bench: round %d/%d  %-50s %9.0f req/s  %6.2f µs CPU/req  %d errors\n",
				round+1, b.rounds, c.name, l.rate, l.cpuPerRequest(), l.errors)
			loads[c.name] = append(loads[c.name], l)
			// Let nginx's workers and the kernel's softirq backlog drain.
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return loads, ctx.Err()
			}
		}
	}
	return loads, nil
}

// errorNote names the clients that saw errors: a rate made of failures is
// not a rate.
func errorNote(loads map[string][]load, names ...string) string {
	note := ""
	for _, name := range names {
		var n int64
		for _, l := range loads[name] {
			n += l.errors
		}
		if n > 0 {
			note += fmt.Sprintf("%s had %d errors over its rounds. ", name, n)
		}
	}
	return strings.TrimSpace(note)
}

func figures(ls []load, f func(load) float64) []float64 {
	out := make([]float64, len(ls))
	for i, l := range ls {
		out[i] = f(l)
	}
	return out
}
