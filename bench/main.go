//go:build linux

// Command bench measures twbench against the tools it is compared with
// (wrk, ab, hey against nginx, and ss for the socket sampler), side by side
// on one machine, and prints each of issue 6's goals as a ratio.
//
// Absolute rates drift on a shared machine; ratios from runs that alternate
// between twbench and its peer, round after round, do not drift as much.
// A ratio is the median of the rounds' ratios; every other figure is the
// median of its rounds.
//
//	go run ./bench                 # every goal, 5 rounds of 5 s
//	go run ./bench -goals 1,2 -rounds 3
//
// bench installs nothing: it checks for nginx, wrk, ab and hey, and for ss
// for the sampler's goal, and says which are missing. It starts its own
// nginx on a free loopback port with the configuration beside it
// (nginx.conf). See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		var usage usageError
		if errors.As(err, &usage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is bad input on the command line.
type usageError struct{ error }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rounds := fs.Int("rounds", 5, "rounds of each comparison; every figure is the median of its rounds")
	duration := fs.Duration("d", 5*time.Second, "how long each tool loads nginx per round")
	conns := fs.Int("c", 50, "connections for the throughput comparisons")
	goals := fs.String("goals", "1,2,3,4,5,6", "which of the goals to measure, comma-separated")
	long := fs.Duration("long", 60*time.Second, "goal 6: the long run's duration, compared with a 10 s run")
	jsonOut := fs.String("json", "", "also write the results to this file as JSON")
	twClient := fs.String("client", "", "twbench's client (its --client): eventloop or goroutine; default twbench's own")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	want, err := parseGoals(*goals)
	if err != nil {
		return usageError{err}
	}
	switch {
	case *rounds < 1:
		return usageError{fmt.Errorf("-rounds %d: want at least 1", *rounds)}
	case *duration < time.Second:
		return usageError{fmt.Errorf("-d %v: want at least 1s", *duration)}
	case *conns < 1:
		return usageError{fmt.Errorf("-c %d: want at least 1", *conns)}
	case *long <= 10*time.Second:
		return usageError{fmt.Errorf("-long %v: want more than the 10s it is compared with", *long)}
	case *twClient != "" && *twClient != "eventloop" && *twClient != "goroutine":
		return usageError{fmt.Errorf("-client %q: want eventloop or goroutine", *twClient)}
	}

	b := &bench{rounds: *rounds, duration: *duration, conns: *conns, long: *long, goals: want, log: stderr, client: *twClient}
	defer b.teardown() // before setup: a setup that fails may have started nginx
	if err := b.setup(ctx, want); err != nil {
		return err
	}

	var results []result
	for _, g := range goalList {
		if !slices.ContainsFunc(g.numbers, func(n int) bool { return slices.Contains(want, n) }) {
			continue
		}
		rs, err := g.measure(b, ctx)
		results = append(results, rs...)
		if err != nil {
			printTable(stdout, b, results)
			return fmt.Errorf("%s: %w", g.name, err)
		}
	}
	b.loadEnd = loadAverage()
	printTable(stdout, b, results)
	if *jsonOut != "" {
		data, err := json.MarshalIndent(struct {
			Machine  machine  `json:"machine"`
			Versions []string `json:"versions"`
			Client   string   `json:"client"`
			Load     []string `json:"load_average"` // at the start and the end
			Rounds   int      `json:"rounds"`
			Duration string   `json:"duration"`
			Results  []result `json:"results"`
		}{b.machine, b.versions, b.clientName(), []string{b.loadStart, b.loadEnd}, b.rounds, b.duration.String(), results}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// parseGoals reads -goals: numbers from 1 to 6.
func parseGoals(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 6 {
			return nil, fmt.Errorf("-goals %q: %q is not a goal (1 to 6)", s, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// goal is one or more of the goals measured together: goal 3 takes
// its CPU figures from the runs of goals 1 and 2.
type goal struct {
	numbers []int
	name    string
	measure func(*bench, context.Context) ([]result, error)
}

var goalList = []goal{
	{[]int{1, 2, 3}, "throughput and CPU per request against nginx", (*bench).throughput},
	{[]int{4}, "sampler", (*bench).sampler},
	{[]int{5}, "open loop", (*bench).openLoop},
	{[]int{6}, "memory", (*bench).memory},
}

// result is one goal's figure: a ratio of twbench's median to its peer's,
// or, with no peer, twbench's median itself.
type result struct {
	Goal int    `json:"goal"`
	Name string `json:"name"`
	// Twbench and Peer are the medians compared, in Unit; Peer is 0 when
	// the goal is a bound on Twbench alone.
	Twbench float64 `json:"twbench"`
	Peer    float64 `json:"peer,omitempty"`
	PeerIs  string  `json:"peer_is,omitempty"`
	Unit    string  `json:"unit"`
	// Value is what the goal bounds: the median of the rounds' ratios of
	// twbench's figure to the peer's, or the median of twbench's figures.
	Value float64 `json:"value"`
	Op    string  `json:"op"` // ">=" or "<="
	Want  float64 `json:"want"`
	// Rounds holds every round's figures, twbench's then the peer's.
	Rounds [][2]float64 `json:"rounds"`
	Note   string       `json:"note,omitempty"`
}

// Met reports whether the goal is met. A ratio whose peer measured
// nothing is not.
func (r result) Met() bool {
	if r.PeerIs != "" && r.Peer == 0 {
		return false
	}
	if r.Op == "<=" {
		return r.Value <= r.Want
	}
	return r.Value >= r.Want
}

// ratio returns a result comparing a's rounds with b's: its value is the
// median of the rounds' ratios, each from runs made side by side, and
// Twbench and Peer are the medians of each.
func ratio(goal int, name, unit, peer string, op string, want float64, a, b []float64) result {
	r := result{Goal: goal, Name: name, Unit: unit, PeerIs: peer, Op: op, Want: want,
		Twbench: median(a), Peer: median(b)}
	var ratios []float64
	for i := range min(len(a), len(b)) {
		r.Rounds = append(r.Rounds, [2]float64{a[i], b[i]})
		if b[i] != 0 {
			ratios = append(ratios, a[i]/b[i])
		}
	}
	r.Value = median(ratios)
	return r
}

// bound returns a result that bounds the median of twbench's rounds.
func bound(goal int, name, unit, op string, want float64, a []float64) result {
	r := result{Goal: goal, Name: name, Unit: unit, Op: op, Want: want, Twbench: median(a)}
	r.Value = r.Twbench
	for _, v := range a {
		r.Rounds = append(r.Rounds, [2]float64{v, 0})
	}
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// printTable writes the results, one line per goal's figure.
func printTable(w io.Writer, b *bench, results []result) {
	fmt.Fprintf(w, "\n%s; %d rounds: each value is the median of the rounds' ratios (or figures), the columns the medians of each one's rounds\n", b.machine, b.rounds)
	for _, v := range b.versions {
		fmt.Fprintf(w, "  %s\n", v)
	}
	fmt.Fprintf(w, "  twbench's client: %s; load average (1, 5, 15 min) at the start %s, at the end %s\n", b.clientName(), b.loadStart, b.loadEnd)
	fmt.Fprintf(w, "\n%-4s  %-66s  %12s  %12s  %8s  %9s  %s\n", "goal", "figure", "twbench", "peer", "value", "want", "")
	for _, r := range results {
		peer := ""
		if r.Peer != 0 {
			peer = number(r.Peer)
		}
		status := "met"
		if !r.Met() {
			status = "NOT MET"
		}
		fmt.Fprintf(w, "%-4d  %-66s  %12s  %12s  %8s  %2s %6s  %s\n",
			r.Goal, r.Name, number(r.Twbench), peer, number(r.Value), r.Op, number(r.Want), status)
		if r.Note != "" {
			fmt.Fprintf(w, "      %s\n", r.Note)
		}
	}
}

// number formats a figure with three significant digits or whole units.
func number(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
