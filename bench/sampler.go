//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// Goal 4 samples a socket table that holds 110k TIME_WAIT sockets, made in
// a network namespace of bench's own (the host's table is shared with other
// work, and TIME_WAIT lasts a minute). The kernel's established hash is the
// host's, so both twbench and ss walk the host's sockets too.
const (
	crowdTimeWait = 110_000 // sockets made: the 100k and a margin
	minTimeWait   = 100_000 // fewer at a sample, and the round is not goal 4's
	// The namespace's ports, below its ephemeral range so that no client
	// socket has one as its own: crowdPort holds the TIME_WAIT sockets,
	// otherPort none.
	crowdPort, otherPort = 900, 901
	// samplesPerRound is how many samples of each kind a round takes,
	// alternating twbench and ss; the round's figure is their median.
	samplesPerRound = 5
	// timeWaitLife is TCP_TIMEWAIT_LEN: a namespace's sockets are made
	// afresh before the first of them would go.
	timeWaitLife = 60 * time.Second
)

// sampler measures goal 4: one sample against ss with the same filter,
// the sampler's CPU at the default interval, both with 110k TIME_WAIT
// sockets, and the throughput of a run with sampling on against the same
// run with it off.
func (b *bench) sampler(ctx context.Context) ([]result, error) {
	rs, err := b.crowdedSampler(ctx)
	if err != nil {
		return rs, err
	}
	// After the namespace is gone: its sockets would be walked by the
	// run's sampler on the host too.
	r, err := b.samplingLoad(ctx)
	return append(rs, r), err
}

// crowd is a namespace full of TIME_WAIT sockets and a sampler of each
// port in it.
type crowd struct {
	ns        *netns.Namespace
	filled    time.Time // when the oldest of its sockets were made
	onPort    *sockstat.Sampler
	otherPort *sockstat.Sampler
}

// newCrowd makes a namespace with crowdTimeWait TIME_WAIT sockets on
// crowdPort and opens the samplers inside it.
func (b *bench) newCrowd(ctx context.Context) (*crowd, error) {
	ns, err := netns.New()
	if err != nil {
		return nil, err
	}
	c := &crowd{ns: ns, filled: time.Now()}
	fmt.Fprintf(b.log, "bench: making %d TIME_WAIT sockets in a network namespace of bench's own\n", crowdTimeWait)
	if err := ns.FillTimeWait(ctx, crowdPort, crowdTimeWait); err != nil {
		c.close()
		return nil, err
	}
	fmt.Fprintf(b.log, "bench: made them in %.1f s\n", time.Since(c.filled).Seconds())
	// The netlink sockets must be opened inside the namespace: a dump
	// lists the sockets of its reader's namespace.
	err = ns.Do(func() (err error) {
		if c.onPort, err = sockstat.NewSampler(netip.AddrPortFrom(netip.IPv4Unspecified(), crowdPort)); err != nil {
			return err
		}
		c.otherPort, err = sockstat.NewSampler(netip.AddrPortFrom(netip.IPv4Unspecified(), otherPort))
		return err
	})
	if err != nil {
		c.close()
		return nil, err
	}
	// The fill's garbage is not the samples' to collect.
	runtime.GC()
	return c, nil
}

func (c *crowd) close() {
	for _, s := range []*sockstat.Sampler{c.onPort, c.otherPort} {
		if s != nil {
			s.Close()
		}
	}
	c.ns.Close()
}

// crowdedSampler measures the sample's time against ss's and the
// sampler's CPU, in rounds; a round that could outlast the namespace's
// sockets starts in a new one.
func (b *bench) crowdedSampler(ctx context.Context) ([]result, error) {
	ss, err := lookPath("ss")
	if err != nil {
		return nil, err
	}
	var (
		c                        *crowd
		twOn, ssOn, twOff, ssOff []float64 // ms, each round's median
		ssStart                  []float64 // ms: ss -V, the process alone
		cpu, duty, interval      []float64
		counts                   []int
		roundTime                = 10 * time.Second
		window                   = min(b.duration, 10*time.Second) // of Sampler.Run, for its CPU
	)
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for round := range b.rounds {
		if c == nil || time.Since(c.filled)+roundTime+5*time.Second > timeWaitLife {
			if c != nil {
				c.close()
			}
			if c, err = b.newCrowd(ctx); err != nil {
				return nil, fmt.Errorf("round %d: %w", round+1, err)
			}
		}
		begin := time.Now()
		var k crowdTimes
		if err := k.measure(ctx, c, ss); err != nil {
			return nil, fmt.Errorf("round %d: %w", round+1, err)
		}
		u, err := sampleCPU(ctx, c.onPort, window)
		if err != nil {
			return nil, fmt.Errorf("round %d: sampling at the default interval: %w", round+1, err)
		}
		twOn, ssOn = append(twOn, median(k.twOn)), append(ssOn, median(k.ssOn))
		twOff, ssOff = append(twOff, median(k.twOff)), append(ssOff, median(k.ssOff))
		ssStart = append(ssStart, median(k.ssStart))
		cpu, duty, interval = append(cpu, u.cpu), append(duty, u.duty), append(interval, u.interval)
		counts = append(counts, k.count)
		fmt.Fprintf(b.log, "bench: round %d/%d  %d TIME_WAIT on the port: twbench %5.1f ms, ss %6.1f ms; on other ports: twbench %5.1f ms, ss %5.1f ms; sampler at %v: %.2f%% of a core, a sample every %.2f s\n",
			round+1, b.rounds, k.count, twOn[round], ssOn[round], twOff[round], ssOff[round],
			scenario.DefaultSampleInterval, u.cpu, u.interval)
		roundTime = time.Since(begin)
	}

	how := fmt.Sprintf("ss is the wall time of its process, started in the namespace with its output to /dev/null (ss -V alone: %.1f ms); twbench is one Sampler.Sample; medians of %d each a round, alternating",
		median(ssStart), samplesPerRound)
	onPort := ratio(4, "one sample, 110k TIME_WAIT on its port: twbench / ss", "ms", "ss -Htan state time-wait '( dport = :P )'",
		"<=", 1.0/3, twOn, ssOn)
	onPort.Note = fmt.Sprintf("want <= 1/3: twbench at least 3× as fast. %d TIME_WAIT sockets on the sampled port (median over rounds; at least %d wanted). %s.",
		medianInt(counts), minTimeWait, how)
	offPort := ratio(4, "one sample, 110k TIME_WAIT on other ports: twbench / ss", "ms", "ss, the same, for a port without them",
		"<=", 1.0/3, twOff, ssOff)
	offPort.Note = "Both walk the kernel's whole table; twbench once, ss once per address family. The walk is the kernel's, and what is left of twbench's sample."
	cost := bound(4, fmt.Sprintf("sampler CPU at the %v interval, 110k TIME_WAIT on its port", scenario.DefaultSampleInterval),
		"% of a core", "<=", 5, cpu)
	cost.Note = fmt.Sprintf("the process's user and system time over %v of Sampler.Run; sampling took %.1f%% of the wall time, a sample every %.2f s (the interval stretches to 25× a sample's cost)",
		window, median(duty), median(interval))
	return []result{onPort, offPort, cost}, nil
}

// crowdTimes are one round's samples: the times of twbench's samples and
// ss's runs, in ms, with the TIME_WAIT sockets on the port and without.
type crowdTimes struct {
	twOn, ssOn, twOff, ssOff, ssStart []float64
	count                             int // TIME_WAIT sockets on the port, the fewest any sample saw
}

// measure takes samplesPerRound of each, in an order that alternates who
// goes first, and checks that ss saw the sockets twbench counted.
func (k *crowdTimes) measure(ctx context.Context, c *crowd, ss string) error {
	filter := func(port int) []string {
		return []string{"-Htan", "state", "time-wait", "( dport = :" + strconv.Itoa(port) + " )"}
	}
	k.count = -1
	twbench := func(s *sockstat.Sampler, into *[]float64) error {
		start := time.Now()
		smp, err := s.Sample()
		if err != nil {
			return err
		}
		*into = append(*into, ms(time.Since(start)))
		if s == c.onPort && (k.count < 0 || int(smp.Client[sockstat.TimeWait]) < k.count) {
			k.count = int(smp.Client[sockstat.TimeWait])
		}
		return nil
	}
	for i := range samplesPerRound {
		steps := []func() error{
			func() error { return twbench(c.onPort, &k.twOn) },
			func() error { return runSS(ctx, c.ns, ss, &k.ssOn, filter(crowdPort)...) },
			func() error { return twbench(c.otherPort, &k.twOff) },
			func() error { return runSS(ctx, c.ns, ss, &k.ssOff, filter(otherPort)...) },
		}
		if i%2 == 1 {
			steps[0], steps[1], steps[2], steps[3] = steps[1], steps[0], steps[3], steps[2]
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
	}
	if err := runSS(ctx, c.ns, ss, &k.ssStart, "-V"); err != nil {
		return err
	}
	if k.count < minTimeWait {
		return fmt.Errorf("%d TIME_WAIT sockets on the sampled port; want at least %d", k.count, minTimeWait)
	}
	// Not timed: ss's own count, to see that both read the same sockets.
	var out bytes.Buffer
	err := c.ns.Do(func() error {
		cmd := exec.CommandContext(ctx, ss, filter(crowdPort)...)
		cmd.Stdout = &out
		return cmd.Run()
	})
	if err != nil {
		return fmt.Errorf("ss: %w", err)
	}
	if n := bytes.Count(out.Bytes(), []byte{'\n'}); n < minTimeWait {
		return fmt.Errorf("ss listed %d TIME_WAIT sockets on the sampled port, twbench counted %d; want both at least %d", n, k.count, minTimeWait)
	}
	return nil
}

// runSS runs ss with args in the namespace, its output to /dev/null, and
// appends its wall time in ms.
func runSS(ctx context.Context, ns *netns.Namespace, ss string, into *[]float64, args ...string) error {
	return ns.Do(func() error {
		cmd := exec.CommandContext(ctx, ss, args...) // Stdout nil: /dev/null, no pipe to read
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("ss %v: %w", args, err)
		}
		*into = append(*into, ms(time.Since(start)))
		return nil
	})
}

// samplerUse is what a sampler cost over a window of Sampler.Run.
type samplerUse struct {
	cpu      float64 // the process's CPU time, % of the window
	duty     float64 // the samples' own time, % of the window
	interval float64 // mean seconds between samples
}

// sampleCPU runs s at the default interval and measures the process's CPU
// time over whole periods, from the end of the first sample to the end of
// the first sample after window: each period holds one sample and the
// wait after it, as in a long run. bench does nothing else meanwhile.
func sampleCPU(ctx context.Context, s *sockstat.Sampler, window time.Duration) (samplerUse, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		before, after unix.Rusage
		start, end    time.Time
		sum           time.Duration // the samples' own time, the first's excluded
		n             int
		usageErr      error
	)
	err := s.Run(wctx, scenario.DefaultSampleInterval, func(smp sockstat.Sample) {
		if start.IsZero() {
			usageErr = unix.Getrusage(unix.RUSAGE_SELF, &before)
			start = time.Now()
			return
		}
		sum += smp.Cost
		n++
		if time.Since(start) >= window {
			usageErr = errors.Join(usageErr, unix.Getrusage(unix.RUSAGE_SELF, &after))
			end = time.Now()
			cancel()
		}
	})
	if err := errors.Join(err, usageErr, ctx.Err()); err != nil {
		return samplerUse{}, err
	}
	elapsed := end.Sub(start).Seconds()
	used := time.Duration(after.Utime.Nano() - before.Utime.Nano() + after.Stime.Nano() - before.Stime.Nano())
	return samplerUse{
		cpu:      100 * used.Seconds() / elapsed,
		duty:     100 * sum.Seconds() / elapsed,
		interval: elapsed / float64(n),
	}, nil
}

// samplingLoad measures the load's side of goal 4: a run against nginx
// with a new connection per request, which leaves a server TIME_WAIT socket
// per request for the sampler to count, with sampling on and off, in
// alternating rounds.
func (b *bench) samplingLoad(ctx context.Context) (result, error) {
	args := []string{"run", "--target", b.url, "--protocol", "http1.0", "--closer", "server",
		"-c", strconv.Itoa(b.conns), "-d", b.duration.String(), "--format", "json", "--no-progress"}
	var on, off []float64
	var samples, costs []float64
	var errs int64
	for round := range b.rounds {
		order := []bool{true, false}
		if round%2 == 1 {
			order = []bool{false, true}
		}
		for _, sampling := range order {
			a := args
			if !sampling {
				a = append(slices.Clone(args), "--no-sampling")
			}
			l, err := b.twbench1(ctx, a...)
			if err != nil {
				return result{}, fmt.Errorf("round %d: %w", round+1, err)
			}
			r := l.report
			errs += l.errors
			if sampling {
				on = append(on, r.QPS)
				if r.Sampling != nil {
					samples = append(samples, r.Sampling.MeanIntervalS)
					costs = append(costs, r.Sampling.MeanCostMS)
				}
			} else {
				off = append(off, r.QPS)
			}
			fmt.Fprintf(b.log, "bench: round %d/%d  http1.0 --closer server, sampling %-3s %9.0f req/s\n",
				round+1, b.rounds, map[bool]string{true: "on", false: "off"}[sampling], r.QPS)
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
				return result{}, ctx.Err()
			}
		}
	}
	r := ratio(4, "req/s, http1.0 closer server vs nginx: sampling on / off", "req/s", "twbench --no-sampling",
		">=", 0.97, on, off)
	r.Note = fmt.Sprintf("with sampling on, a sample every %.2f s costing %.1f ms (medians of the runs' means); on / off round by round:", median(samples), median(costs))
	for i := range min(len(on), len(off)) {
		r.Note += fmt.Sprintf(" %.3f", on[i]/off[i])
	}
	if errs > 0 {
		r.Note += fmt.Sprintf("; %d errors over the runs", errs)
	}
	return r, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func medianInt(v []int) int {
	f := make([]float64, len(v))
	for i, n := range v {
		f[i] = float64(n)
	}
	return int(median(f))
}
