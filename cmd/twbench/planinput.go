package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// planWorkloads returns the workloads to plan, and sets the host whose
// settings they meet: the report's with --from, else this host's.
func planWorkloads(f *planFlags, rep *report.PlanReport) ([]report.Workload, error) {
	if f.from == "" {
		host, err := sockstat.ReadHost()
		if err != nil {
			host = sockstat.LinuxDefaults()
			rep.Notes = append(rep.Notes, "this host's settings were not read ("+err.Error()+"): Linux's defaults are assumed")
		}
		rep.Host = host
		closers := []loadgen.Closer{loadgen.Closer(f.closer)}
		if f.table {
			closers = loadgen.Closers()
		}
		var ws []report.Workload
		for _, c := range closers {
			ws = append(ws, report.DefaultWorkload(c, f.perConn))
		}
		return ws, nil
	}
	r, err := readPlanReport(f.from)
	if err != nil {
		return nil, err
	}
	rep.Host, rep.From = r.Host, f.from
	var ws []report.Workload
	var names []string
	for i := range r.Runs {
		names = append(names, r.Runs[i].Scenario.Name)
		if f.scenario == "" || r.Runs[i].Scenario.Name == f.scenario {
			ws = append(ws, report.MeasuredWorkload(&r.Runs[i]))
		}
	}
	if len(ws) == 0 && f.scenario != "" {
		return nil, usagef("plan: %s has no run of scenario %q (have: %s)", f.from, f.scenario, strings.Join(names, ", "))
	}
	if len(ws) == 0 {
		return nil, usagef("plan: %s has no runs", f.from)
	}
	return ws, nil
}

// maxReportBytes bounds the report --from reads.
const maxReportBytes = 256 << 20

func readPlanReport(path string) (*report.Report, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, usagef("plan: --from: %w", err)
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxReportBytes+1))
	if err != nil {
		return nil, usagef("plan: --from: %w", err)
	}
	if len(data) > maxReportBytes {
		return nil, usagef("plan: --from %s: over %d MiB: not a report twbench wrote", path, maxReportBytes>>20)
	}
	r, err := report.ReadReport(data)
	if err != nil {
		return nil, usagef("plan: --from %s: %w", path, err)
	}
	return r, nil
}

// applyPlanFlags puts the flags given into w.
func applyPlanFlags(fs *pflag.FlagSet, f *planFlags, w *report.Workload) error {
	if fs.Changed("rate") {
		w.Rate = f.rate
	}
	if fs.Changed("lifetime") {
		w.LifetimeS = f.lifetime.Seconds()
		if f.from == "" && w.RequestsPerConn > 0 && w.LifetimeS >= 0 {
			w.LatencyS = w.LifetimeS / float64(w.RequestsPerConn)
		}
	}
	if fs.Changed("latency") {
		w.LatencyS = f.latency.Seconds()
	}
	if fs.Changed("sources") {
		w.Sources = f.sources
	}
	if fs.Changed("destinations") {
		w.Destinations = f.destinations
	}
	if fs.Changed("time-wait") {
		w.TimeWaitS, w.TimeWaitFrom = f.tw.Seconds(), report.TimeWaitGiven
	}
	if fs.Changed("regime") {
		w.Regime = f.regime
	}
	if fs.Changed("target-share") {
		v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(f.share, "%")), 64)
		if err != nil {
			return usagef("plan: --target-share %q: want a share such as 50%% or 0.5", f.share)
		}
		if strings.HasSuffix(f.share, "%") {
			v /= 100
		}
		w.TargetShare = v
	}
	return nil
}

func planName(pl *report.Plan) string {
	w := &pl.Workload
	if w.Scenario != "" {
		return w.Scenario
	}
	return fmt.Sprintf("closer %s at %s requests/s", w.Closer, strconv.FormatFloat(w.Rate, 'f', -1, 64))
}
