//go:build linux

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// load is what one client's run against nginx did.
type load struct {
	requests int64
	errors   int64
	rate     float64 // requests per second, as the client reports it
	usage
	report twbenchRun // twbench's own figures
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
// and reads the run's figures.
func (b *bench) twbench1(ctx context.Context, args ...string) (load, error) {
	out, u, err := b.command(ctx, b.twbench, args...)
	if err != nil {
		return load{}, err
	}
	rep, err := parseReport(out)
	if err != nil {
		return load{}, err
	}
	r := rep.Runs[0]
	l := load{requests: r.Requests, rate: r.QPS, usage: u, report: r}
	for _, n := range r.Errors {
		l.errors += n
	}
	return l, nil
}

// twbenchRun is the part of a twbench report bench reads.
type twbenchRun struct {
	Requests int64            `json:"requests"`
	QPS      float64          `json:"qps"`
	Errors   map[string]int64 `json:"errors"`
	// Schedule is the open-loop pacer's record.
	Schedule *struct {
		Rate      float64 `json:"rate"`
		Scheduled int64   `json:"scheduled"`
		Late      int64   `json:"late"`
		Unsent    int64   `json:"unsent"`
		LagUS     struct {
			P99 float64 `json:"p99"`
		} `json:"lag_us"`
	} `json:"schedule"`
}

func parseReport(out []byte) (*struct{ Runs []twbenchRun }, error) {
	var rep struct{ Runs []twbenchRun }
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("twbench's JSON report: %w", err)
	}
	if len(rep.Runs) != 1 {
		return nil, fmt.Errorf("twbench's JSON report has %d runs; want 1", len(rep.Runs))
	}
	return &rep, nil
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
	heyCode = regexp.MustCompile(`(?m)\[(\d+)\]\s+(\d+) responses`)
)

// wrkClient runs wrk with two threads (one per core of the reference
// machine) and extra arguments.
func wrkClient(name string, extra ...string) client {
	return client{name, func(ctx context.Context, b *bench) (load, error) {
		args := append([]string{"-t2", "-c", strconv.Itoa(b.conns), "-d", seconds(b.duration) + "s"}, extra...)
		out, u, err := b.command(ctx, "wrk", append(args, b.url)...)
		if err != nil {
			return load{}, err
		}
		l := load{usage: u}
		if l.requests, err = intMatch(wrkRequests, out, "wrk", "requests"); err != nil {
			return l, err
		}
		if l.rate, err = floatMatch(wrkRate, out, "wrk", "Requests/sec"); err != nil {
			return l, err
		}
		if m := wrkErrors.FindSubmatch(out); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.ParseInt(string(s), 10, 64)
				l.errors += n
			}
		}
		if m := wrkNon2xx.FindSubmatch(out); m != nil {
			n, _ := strconv.ParseInt(string(m[1]), 10, 64)
			l.errors += n
		}
		return l, nil
	}}
}

// abClient runs ab for the bench's duration. -n only lifts ab's cap of
// 50,000 requests under -t: ab allocates 32 bytes per request of -n up
// front, so it is set above any rate ab reaches (500,000/s), not to
// "unlimited".
func abClient(name string, extra ...string) client {
	return client{name, func(ctx context.Context, b *bench) (load, error) {
		args := append([]string{"-q", "-c", strconv.Itoa(b.conns), "-t", seconds(b.duration),
			"-n", strconv.FormatInt(500000*int64(b.duration.Seconds()), 10)}, extra...)
		out, u, err := b.command(ctx, "ab", append(args, b.url)...)
		if err != nil {
			return load{}, err
		}
		l := load{usage: u}
		if l.requests, err = intMatch(abComplete, out, "ab", "Complete requests"); err != nil {
			return l, err
		}
		if l.errors, err = intMatch(abFailed, out, "ab", "Failed requests"); err != nil {
			return l, err
		}
		l.rate, err = floatMatch(abRate, out, "ab", "Requests per second")
		return l, err
	}}
}

// heyClient runs hey for the bench's duration.
func heyClient(name string, extra ...string) client {
	return client{name, func(ctx context.Context, b *bench) (load, error) {
		args := append([]string{"-c", strconv.Itoa(b.conns), "-z", b.duration.String()}, extra...)
		out, u, err := b.command(ctx, "hey", append(args, b.url)...)
		if err != nil {
			return load{}, err
		}
		l := load{usage: u}
		if l.rate, err = floatMatch(heyRate, out, "hey", "Requests/sec"); err != nil {
			return l, err
		}
		if l.requests, err = intMatch(heyOK, out, "hey", "[200] responses"); err != nil {
			return l, err
		}
		for _, m := range heyCode.FindAllSubmatch(out, -1) {
			if string(m[1]) != "200" {
				n, _ := strconv.ParseInt(string(m[2]), 10, 64)
				l.errors += n
			}
		}
		return l, nil
	}}
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
