package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

const planSynopsis = "twbench plan [--rate R --closer C | --table | --from REPORT.json [--scenario NAME]] [flags]"

// planFlags are the workload flags; each, when given, replaces the
// workload's default or measured figure.
type planFlags struct {
	rate                   float64
	closer                 string
	perConn                int
	lifetime, latency, tw  time.Duration
	sources, destinations  int
	regime, share          string
	from, scenario, format string
	table                  bool
	expects                []string
	pool                   int
}

func planCmd(_ context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("plan", pflag.ContinueOnError)
	fs.SortFlags = false
	var f planFlags
	def := report.DefaultWorkload(loadgen.CloserClient, 1)
	fs.Float64Var(&f.rate, "rate", 0, "new requests/s to plan for (with --from: the report's qps)")
	fs.StringVar(&f.closer, "closer", string(loadgen.CloserClient), "who sends the first FIN: "+loadgen.CloserHelp())
	fs.IntVar(&f.perConn, "requests-per-conn", 1, "requests each connection carries before it is closed")
	fs.DurationVar(&f.lifetime, "lifetime", seconds(def.LifetimeS), "a connection's life from connect to close (with --from: as measured)")
	fs.DurationVar(&f.latency, "latency", 0, "how long a request holds its connection, for a keep-alive pool's size (default: lifetime / requests per connection; with --from: the mean latency)")
	fs.IntVar(&f.sources, "sources", 1, "client source addresses")
	fs.IntVar(&f.destinations, "destinations", 1, "distinct server address:port pairs the client connects to")
	fs.DurationVar(&f.tw, "time-wait", seconds(def.TimeWaitS), "the TIME_WAIT length (Linux's TCP_TIMEWAIT_LEN; with --from: as measured)")
	fs.StringVar(&f.regime, "regime", def.Regime, "network (tcp_tw_reuse=2 does not apply) or loopback (with --from: the report's)")
	fs.StringVar(&f.share, "target-share", "100%", "the share of each pair's usable ports the workload may hold, such as 50%: what 'needed' sizes against")
	settings := map[string]*string{}
	for _, s := range report.PlanSettings() {
		settings[s.Flag] = fs.String(s.Flag, "", s.Help+" (default: the host's)")
	}
	fs.IntVar(&f.pool, "pool", 0, "also plan a keep-alive pool of N connections: it carries N / latency requests/s (Little's law) and only the rest open connections; the plan shows the ceiling with and without it")
	fs.BoolVar(&f.table, "table", false, "the articles' table: "+rates()+" requests/s, for every closer (or every run of --from)")
	fs.StringVar(&f.from, "from", "", "take the workload's figures from this JSON report of twbench run")
	fs.StringVar(&f.scenario, "scenario", "", "with --from, the run to plan from (default: every run)")
	fs.StringVar(&f.format, "format", "text", "output format: "+strings.Join(report.PlanFormats(), " or "))
	fs.StringArrayVar(&f.expects, "expect", nil, "an expectation over each plan's figures, such as 'ports.share < 0.5' (repeatable)")
	if err := parseFlags(fs, args, stdout, planSynopsis); err != nil {
		return err
	}
	if err := planConflicts(fs, &f); err != nil {
		return err
	}
	var checks []*report.PlanCheck
	for _, text := range f.expects {
		c, err := report.CompilePlanCheck(text, "--expect")
		if err != nil {
			return usagef("plan: --expect %s: %w", report.ShortExpr(text), err)
		}
		checks = append(checks, c)
	}

	rep := &report.PlanReport{Schema: report.PlanSchema, Version: version(), Plans: []report.Plan{}}
	workloads, err := planWorkloads(&f, rep)
	if err != nil {
		return err
	}
	reuseWas := rep.Host.Sysctl[sockstat.SysctlTWReuse]
	for _, s := range report.PlanSettings() {
		if fs.Changed(s.Flag) {
			if rep.Host, err = s.Apply(rep.Host, *settings[s.Flag]); err != nil {
				return usagef("plan: %w", err)
			}
		}
	}
	rep.TimeWaitObject = sockstat.ReadTimeWaitObject()
	var problems []error
	for i := range workloads {
		w := &workloads[i]
		if err := applyPlanFlags(fs, &f, w); err != nil {
			return err
		}
		if f.table {
			w.Rate = report.TableRates()[0]
		}
		err := w.Validate()
		if err == nil && f.pool > 0 && w.LatencyS <= 0 {
			// Little's law: a pool's capacity is its size over the latency.
			err = errors.New("--pool: a request that takes no time lets a pool carry any rate: give --latency")
		}
		if err != nil {
			if w.Scenario != "" {
				err = fmt.Errorf("%s: scenario %s: %w", f.from, w.Scenario, err)
			}
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return usageError{fmt.Errorf("plan: %w", errors.Join(problems...))}
	}
	if f.table {
		rep.Plans = report.PlanTable(workloads, rep.Host, rep.TimeWaitObject)
	} else {
		for _, w := range workloads {
			pl := report.NewPlan(w, rep.Host, rep.TimeWaitObject)
			if fs.Changed("tw-reuse") {
				report.CompareTWReuse(&pl, rep.Host, reuseWas, rep.TimeWaitObject)
			}
			if f.pool > 0 {
				report.ComparePool(&pl, f.pool)
			}
			rep.Plans = append(rep.Plans, pl)
		}
	}
	var unmet []error
	for i := range rep.Plans {
		pl := &rep.Plans[i]
		for _, c := range checks {
			e := c.Eval(pl)
			pl.Expectations = append(pl.Expectations, e)
			if !e.OK {
				unmet = append(unmet, fmt.Errorf("plan %s: expectation failed (%s): %s", planName(pl), e.Source, e.Describe()))
			}
		}
	}
	if err := report.WritePlan(stdout, rep, f.format, f.table); err != nil {
		return err
	}
	if len(unmet) > 0 {
		return expectationError{errors.Join(unmet...)}
	}
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// planConflicts refuses flags that contradict each other, before
// anything is read.
func planConflicts(fs *pflag.FlagSet, f *planFlags) error {
	if fs.NArg() > 0 {
		return usagef("plan: unexpected argument %q (a report is read with --from)", fs.Arg(0))
	}
	if !slices.Contains(report.PlanFormats(), f.format) {
		return usagef("plan: --format %q: want %s", f.format, strings.Join(report.PlanFormats(), " or "))
	}
	if f.scenario != "" && f.from == "" {
		return usagef("plan: --scenario picks a run of --from's report; give --from too")
	}
	for _, name := range []string{"closer", "requests-per-conn"} {
		if f.from != "" && fs.Changed(name) {
			return usagef("plan: --%s: with --from the report's runs give it; pick one with --scenario", name)
		}
	}
	for _, name := range []string{"rate", "closer"} {
		if f.table && fs.Changed(name) {
			return usagef("plan: --table plans every closer at %s requests/s; give --table or --%s, not both", rates(), name)
		}
	}
	if fs.Changed("pool") && (f.pool < 1 || f.pool > report.MaxPlanPairs) {
		return usagef("plan: --pool %d: want 1 to %d connections", f.pool, report.MaxPlanPairs)
	}
	if f.table && (fs.Changed("pool") || fs.Changed("tw-reuse")) {
		return usagef("plan: --table plans every closer at once; --pool and --tw-reuse are shown for one workload: give --rate or --from")
	}
	if !f.table && f.from == "" && !fs.Changed("rate") {
		return usagef("plan: give --rate (new requests/s), --table, or --from REPORT.json")
	}
	return nil
}

func rates() string {
	var s []string
	for _, r := range report.TableRates() {
		s = append(s, strconv.FormatFloat(r, 'f', -1, 64))
	}
	return strings.Join(s, ", ")
}
