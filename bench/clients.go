//go:build linux

package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/twbench/twbench/report"
)

// load is what one client's run against nginx did.
type load struct {
	requests int64
	errors   int64
	rate     float64 // requests per second, as the client reports it
	usage
	report report.Run // twbench's own report of the run
}

// cpuPerRequest is the client's CPU time per request, in microseconds.
func (l load) cpuPerRequest() float64 {
	if l.requests == 0 {
		return 0
	}
	return float64(l.cpu.Microseconds()) / float64(l.requests)
}

// client is one way of loading nginx: a tool and its flags.
type client struct {
	name string
	run  func(ctx context.Context, b *bench) (load, error)
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d.Round(time.Second) / time.Second)) }

// twbenchClient runs twbench against nginx with args, closed loop with the
// bench's connections and duration, and reads its JSON report.
func twbenchClient(name string, args ...string) client {
	return client{name, func(ctx context.Context, b *bench) (load, error) {
		full := append([]string{"run", "--target", b.url, "-c", strconv.Itoa(b.conns),
			"-d", b.duration.String(), "--format", "json", "--no-progress"}, args...)
		return b.twbench1(ctx, full...)
	}}
}

// twbench1 runs twbench with args (a run of one scenario, JSON on stdout)
// and reads the run's figures from its report.
func (b *bench) twbench1(ctx context.Context, args ...string) (load, error) {
	if b.client != "" {
		args = append(slices.Clone(args), "--client", b.client)
	}
	out, u, err := b.command(ctx, b.twbench, args...)
	if err != nil {
		return load{}, err
	}
	rep, err := report.ReadReport(out)
	if err != nil {
		return load{}, fmt.Errorf("twbench's JSON report: %w", err)
	}
	if len(rep.Runs) != 1 {
		return load{}, fmt.Errorf("twbench's JSON report has %d runs; want 1", len(rep.Runs))
	}
	r := rep.Runs[0]
	l := load{requests: r.Requests, rate: r.QPS, usage: u, report: r}
	for _, n := range r.Errors {
		l.errors += n
	}
	return l, nil
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s*([\d.]+)`)
	wrkErrors   = regexp.MustCompile(`(?m)Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xx   = regexp.MustCompile(`(?m)Non-2xx or 3xx responses: (\d+)`)

	abComplete = regexp.MustCompile(`(?m)^Complete requests:\s*(\d+)`)
	abFailed   = regexp.MustCompile(`(?m)^Failed requests:\s*(\d+)`)
	abRate     = regexp.MustCompile(`(?m)^Requests per second:\s*([\d.]+)`)

	heyRate = regexp.MustCompile(`(?m)Requests/sec:\s*([\d.]+)`)
	heyOK   = regexp.MustCompile(`(?m)\[200\]\s+(\d+) responses`)
	heyAll  = regexp.MustCompile(`(?m)\[\d+\]\s+(\d+) responses`)
)

// peerClient runs a peer tool against nginx, with the arguments args
// gives, and reads its figures from its output with parse.
func peerClient(name, tool string, args func(*bench) []string, parse func([]byte, *load) error) client {
	return client{name, func(ctx context.Context, b *bench) (load, error) {
		out, u, err := b.command(ctx, tool, append(args(b), b.url)...)
		if err != nil {
			return load{}, err
		}
		l := load{usage: u}
		return l, parse(out, &l)
	}}
}

// wrkClient runs wrk with two threads (one per core of the reference
// machine) and extra arguments.
func wrkClient(name string, extra ...string) client {
	return peerClient(name, "wrk", func(b *bench) []string {
		return append([]string{"-t2", "-c", strconv.Itoa(b.conns), "-d", seconds(b.duration) + "s"}, extra...)
	}, func(out []byte, l *load) (err error) {
		if l.requests, err = intMatch(wrkRequests, out, "wrk", "requests"); err != nil {
			return err
		}
		if l.rate, err = floatMatch(wrkRate, out, "wrk", "Requests/sec"); err != nil {
			return err
		}
		l.errors = sumMatches(wrkErrors, out) + sumMatches(wrkNon2xx, out)
		return nil
	})
}

// abClient runs ab for the bench's duration. -n only lifts ab's cap of
// 50,000 requests under -t: ab allocates 32 bytes per request of -n up
// front, so it is set above any rate ab reaches (500,000/s), not to
// "unlimited".
func abClient(name string, extra ...string) client {
	return peerClient(name, "ab", func(b *bench) []string {
		return append([]string{"-q", "-c", strconv.Itoa(b.conns), "-t", seconds(b.duration),
			"-n", strconv.FormatInt(500000*int64(b.duration.Seconds()), 10)}, extra...)
	}, func(out []byte, l *load) (err error) {
		if l.requests, err = intMatch(abComplete, out, "ab", "Complete requests"); err != nil {
			return err
		}
		if l.errors, err = intMatch(abFailed, out, "ab", "Failed requests"); err != nil {
			return err
		}
		l.rate, err = floatMatch(abRate, out, "ab", "Requests per second")
		return err
	})
}

// heyClient runs hey for the bench's duration.
func heyClient(name string, extra ...string) client {
	return peerClient(name, "hey", func(b *bench) []string {
		return append([]string{"-c", strconv.Itoa(b.conns), "-z", b.duration.String()}, extra...)
	}, func(out []byte, l *load) (err error) {
		if l.rate, err = floatMatch(heyRate, out, "hey", "Requests/sec"); err != nil {
			return err
		}
		if l.requests, err = intMatch(heyOK, out, "hey", "[200] responses"); err != nil {
			return err
		}
		l.errors = sumMatches(heyAll, out) - l.requests // the responses of any other status
		return nil
	})
}

// sumMatches adds up the numbers re's groups capture, over all its
// matches in out.
func sumMatches(re *regexp.Regexp, out []byte) int64 {
	var n int64
	for _, m := range re.FindAllSubmatch(out, -1) {
		for _, g := range m[1:] {
			v, _ := strconv.ParseInt(string(g), 10, 64)
			n += v
		}
	}
	return n
}

func intMatch(re *regexp.Regexp, out []byte, tool, what string) (int64, error) {
	m := re.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s printed no %q line: %s", tool, what, tail(string(out)))
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

func floatMatch(re *regexp.Regexp, out []byte, tool, what string) (float64, error) {
	m := re.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("%s printed no %q line: %s", tool, what, tail(string(out)))
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
