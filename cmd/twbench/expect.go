package main

import (
	"errors"
	"fmt"

	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
)

// expectationError is a run whose report did not meet an expectation:
// exit code 1.
type expectationError struct{ err error }

func (e expectationError) Error() string { return e.err.Error() }
func (e expectationError) Unwrap() error { return e.err }

// scenarioChecks compiles the expectations of a scenario from file, so
// that a misspelt figure is reported at its line before any load runs.
func scenarioChecks(s *scenario.Scenario, comp *report.Compiler) ([]*report.Check, []error) {
	var checks []*report.Check
	var errs []error
	for _, e := range s.Expect {
		c, err := comp.Compile(e.Expr, e.Source)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: scenario %q: expect %s: %w", e.Source, s.Name, report.ShortExpr(e.Expr), err))
			continue
		}
		checks = append(checks, c)
	}
	return checks, errs
}

// catalogueChecks compiles the expectations of every scenario in a
// catalogue, those that will not run too: a catalogue with a broken
// expectation is a broken file.
func catalogueChecks(cat *scenario.Catalogue) error {
	var errs []error
	var comp report.Compiler
	for i := range cat.Scenarios {
		_, e := scenarioChecks(&cat.Scenarios[i], &comp)
		errs = append(errs, e...)
	}
	if len(errs) > 0 {
		return usageError{errors.Join(errs...)}
	}
	return nil
}

// flagChecks compiles the --expect expressions.
func flagChecks(exprs []string) ([]*report.Check, error) {
	var checks []*report.Check
	var errs []error
	for _, text := range exprs {
		c, err := report.CompileCheck(text, "--expect")
		if err != nil {
			errs = append(errs, fmt.Errorf("--expect %s: %w", report.ShortExpr(text), err))
			continue
		}
		checks = append(checks, c)
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return checks, nil
}

// checkRun evaluates a run's expectations into its report and returns one
// error per failed expectation.
func checkRun(run *report.Run, checks []*report.Check) []error {
	var failed []error
	for _, c := range checks {
		e := c.Eval(run)
		run.Expectations = append(run.Expectations, e)
		if !e.OK {
			failed = append(failed, fmt.Errorf("scenario %s: expectation failed (%s): %s", run.Scenario.Name, e.Source, e.Describe()))
		}
	}
	return failed
}
