package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/report"
)

const mergeSynopsis = "twbench merge REPORT... [-o FILE] [--format F] [--expect EXPR]... [--partial]"

// mergeCmd merges the reports of a fleet's shards into one report, and
// checks the fleet's expectations on it once.
func mergeCmd(_ context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	fs.SortFlags = false
	format := fs.String("format", "", formatHelp())
	output := fs.StringP("output", "o", "", "write the merged report to this file (- for stdout alone, as JSON unless --format says); the text table still goes to stdout")
	expects := fs.StringArray("expect", nil, "an expectation over every merged scenario, as well as the shards' own (repeatable)")
	partial := fs.Bool("partial", false, "merge the shards given even if some of the fleet's are missing; the report lists those")
	if err := parseFlags(fs, args, stdout, mergeSynopsis); err != nil {
		return err
	}
	toStdout(output, format)
	outFormat, err := resolveFormat(*format, *output)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("merge: want the shards' JSON reports: FILE..., or - for reports one after another on stdin (kubectl logs)")
	}
	extraChecks, err := flagChecks(*expects)
	if err != nil {
		return err
	}
	shards, err := readShards(fs.Args(), stdin)
	if err != nil {
		return err
	}
	merged, err := report.Merge(shards, *partial)
	if errors.Is(err, report.ErrMissingShards) {
		return usagef("merge: %w: give every shard's report, or --partial to merge those given", err)
	}
	if err != nil {
		return usagef("merge: %w", err)
	}
	merged.Version = version()

	var failures, unmet []error
	if len(merged.Runs) == 0 {
		failures = append(failures, errors.New("merge: the shards ran no scenario"))
	}
	var comp report.Compiler
	for i := range merged.Runs {
		run := &merged.Runs[i]
		checks, err := deferredChecks(&comp, shards[0], i)
		if err != nil {
			return err
		}
		unmet = append(unmet, checkRun(run, append(checks, extraChecks...))...)
		if run.Requests == 0 && !run.Interrupted {
			failures = append(failures, fmt.Errorf("scenario %s: no request succeeded in any shard%s", run.Scenario.Name, firstError(run)))
		}
	}
	var out *reportFile
	if *output != "" {
		if out, err = createReportFile(*output); err != nil {
			return usagef("-o: %w", err)
		}
		defer out.discard()
	}
	if err := writeReport(merged, outFormat, out, stdout); err != nil {
		return err
	}
	switch {
	case len(failures) > 0:
		return errors.Join(append(failures, unmet...)...)
	case len(unmet) > 0:
		return expectationError{errors.Join(unmet...)}
	}
	return nil
}

// readShards reads the reports in each input: a file, or - for stdin.
func readShards(inputs []string, stdin io.Reader) ([]report.ShardReport, error) {
	var all []report.ShardReport
	stdinRead := false
	for _, name := range inputs {
		var r io.Reader = stdin
		if name == "-" {
			if stdinRead {
				return nil, usagef("merge: - twice: stdin is read once")
			}
			stdinRead = true
		} else {
			f, err := os.Open(name)
			if err != nil {
				return nil, usagef("merge: %w", err)
			}
			defer f.Close()
			r = f
		}
		reports, err := report.ReadReports(name, r)
		if err != nil {
			return nil, usagef("merge: %w", err)
		}
		all = append(all, reports...)
	}
	return all, nil
}

// deferredChecks compiles the expectations a shard left for merge for its
// i-th scenario: every shard left the same (Merge checked).
func deferredChecks(comp *report.Compiler, shard report.ShardReport, i int) ([]*report.Check, error) {
	run := &shard.Report.Runs[i]
	var checks []*report.Check
	var errs []error
	for _, d := range run.Shard.Expect {
		c, err := comp.Compile(d.Expr, d.Source)
		if err != nil {
			errs = append(errs, fmt.Errorf("merge: %s: scenario %s: expect %s (%s): %w", shard.Input, run.Scenario.Name, report.ShortExpr(d.Expr), d.Source, err))
			continue
		}
		checks = append(checks, c)
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return checks, nil
}
