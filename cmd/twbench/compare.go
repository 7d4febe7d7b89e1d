package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/report"
)

const compareSynopsis = "twbench compare BASE.json HEAD.json [--max-regression 5%] [--max-regression FIGURE=N%]..."

func compareCmd(_ context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	fs.SortFlags = false
	limits := fs.StringArray("max-regression", nil,
		"fail (exit 1) when a figure got worse by more than this: N% for every figure; FIGURE=N% or FIGURE=off for one, or for a group such as latency_us (repeatable; figures: "+
			strings.Join(figureNames(), ", ")+")")
	if err := parseFlags(fs, args, stdout, compareSynopsis); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("compare: want two reports, BASE.json HEAD.json; got %d argument(s)", fs.NArg())
	}
	lim, err := parseLimits(*limits)
	if err != nil {
		return err
	}
	base, err := readReport(fs.Arg(0))
	if err != nil {
		return err
	}
	head, err := readReport(fs.Arg(1))
	if err != nil {
		return err
	}
	c := report.Compare(base, head, lim)
	if err := report.WriteComparison(stdout, c); err != nil {
		return err
	}
	if len(c.Scenarios) == 0 {
		return usagef("compare: no scenario is in both %s and %s", fs.Arg(0), fs.Arg(1))
	}
	if reg := c.Regressions(); len(reg) > 0 {
		errs := make([]error, len(reg))
		for i, r := range reg {
			errs[i] = errors.New("regression: " + r)
		}
		return expectationError{errors.Join(errs...)}
	}
	return nil
}

func figureNames() []string {
	var names []string
	for _, f := range report.Figures() {
		names = append(names, f.Name)
	}
	return names
}

// parseLimits reads --max-regression values: "5%" (or "5") for every
// figure, "latency_us.p99=20%" for one, "latency_us=off" for none on a
// group.
func parseLimits(values []string) (report.Limits, error) {
	lim := report.Limits{PerFigure: map[string]*float64{}}
	for _, v := range values {
		figure, pct, named := strings.Cut(v, "=")
		if !named {
			figure, pct = "", v
		}
		if named && !slices.ContainsFunc(figureNames(), func(f string) bool { return f == figure || strings.HasPrefix(f, figure+".") }) {
			return lim, usagef("--max-regression %q: no figure %q (want one of %s)", v, figure, strings.Join(figureNames(), ", "))
		}
		if named && pct == "off" {
			lim.PerFigure[figure] = nil
			continue
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
		if err != nil || p < 0 || math.IsNaN(p) {
			return lim, usagef("--max-regression %q: want a percentage such as 5%%, FIGURE=5%% or FIGURE=off", v)
		}
		if !named {
			lim.Default = &p
			continue
		}
		lim.PerFigure[figure] = &p
	}
	return lim, nil
}

func readReport(path string) (*report.Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("compare: %w", err)
	}
	defer f.Close()
	r, err := report.DecodeFigures(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, usagef("compare: %s: %w", path, err)
	}
	return r, nil
}
