package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// selection is what run was asked to run besides the scenarios named:
// every scenario (--all), or the catalogue's suites (--suite).
type selection struct {
	all    bool
	suites []string
}

// selectScenarios returns the scenarios to run: those of the suites
// given and those named, all of the catalogue's, or one built from flags
// alone; each with the flags' overrides applied, validated, and checked
// against this host.
func selectScenarios(fs *pflag.FlagSet, file string, sel selection, host sockstat.Host) ([]scenario.Scenario, error) {
	cat, err := loadCatalogue(file)
	if err != nil {
		return nil, err
	}
	var picked []scenario.Scenario
	switch names := fs.Args(); {
	case len(names) > 0 || len(sel.suites) > 0:
		if picked, err = pickNamed(cat, sel.suites, names); err != nil {
			return nil, err
		}
	case sel.all:
		picked = cat.All()
	case fs.Changed("protocol") || fs.Changed("closer") || fs.Changed("target"):
		picked = []scenario.Scenario{{Name: "ad-hoc", Description: "built from the command line", Source: "flags"}}
	default:
		picked = cat.DefaultSuite()
	}

	// Problems with a flag are reported once, naming the scenarios they
	// concern; problems in the file, at their line.
	var errs []error
	flagErrs := map[string][]string{}
	var flagOrder []string
	for i := range picked {
		s := &picked[i]
		for _, o := range overrideFlags() {
			if !fs.Changed(o.flag) {
				continue
			}
			if err := s.Set(o.key, fs.Lookup(o.flag).Value.String()); err != nil {
				return nil, usagef("--%s: %w", o.flag, err)
			}
		}
		s.ApplyDefaults()
		problems := s.Validate()
		if len(problems) == 0 {
			problems = s.HostProblems(localPortRange(host))
		}
		for _, fe := range problems {
			if flag, ok := flagFor(fs, fe.Field); ok {
				msg := "--" + flag + ": " + fe.Problem()
				if _, seen := flagErrs[msg]; !seen {
					flagOrder = append(flagOrder, msg)
				}
				flagErrs[msg] = append(flagErrs[msg], s.Name)
				continue
			}
			where := s.Source
			if line := s.Line(fe.Field); line > 0 {
				where = fmt.Sprintf("%s:%d", cat.File, line)
			}
			errs = append(errs, fmt.Errorf("%s: scenario %q: %v", where, s.Name, fe))
		}
	}
	for _, msg := range flagOrder {
		names := flagErrs[msg]
		label := "scenario "
		if len(names) > 1 {
			label = "scenarios "
		}
		errs = append(errs, fmt.Errorf("%s (%s%s)", msg, label, strings.Join(names, ", ")))
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return picked, nil
}

// pickNamed returns the scenarios of suites, then those of names, each
// once, in that order.
func pickNamed(cat *scenario.Catalogue, suites, names []string) ([]scenario.Scenario, error) {
	var picked []scenario.Scenario
	add := func(s scenario.Scenario) {
		if !slices.ContainsFunc(picked, func(p scenario.Scenario) bool { return p.Name == s.Name }) {
			picked = append(picked, s)
		}
	}
	for _, name := range suites {
		list, ok := cat.Suite(name)
		if !ok {
			have := "none"
			if len(cat.Suites) > 0 {
				have = strings.Join(cat.SuiteNames(), ", ")
			}
			return nil, usagef("run: --suite: no suite %q in %s (have: %s)", name, cat.File, have)
		}
		for _, s := range list {
			add(s)
		}
	}
	for _, name := range names {
		s, ok := cat.Lookup(name)
		if !ok {
			return nil, usagef("run: no scenario %q in %s (have: %s)", name, cat.File, strings.Join(cat.Names(), ", "))
		}
		add(s)
	}
	return picked, nil
}

// localPortRange returns the host's ip_local_port_range, or the zero range
// if it was not read.
func localPortRange(host sockstat.Host) loadgen.PortRange {
	lo, hi, err := host.PortRange()
	if err != nil {
		return loadgen.PortRange{}
	}
	return loadgen.PortRange{Lo: uint16(lo), Hi: uint16(hi)}
}

// flagFor returns the flag for a scenario field, if it was given.
func flagFor(fs *pflag.FlagSet, key string) (string, bool) {
	for _, o := range overrideFlags() {
		if o.key == key && fs.Changed(o.flag) {
			return o.flag, true
		}
	}
	return "", false
}

// loadCatalogue reads file, or the embedded catalogue if file is empty.
func loadCatalogue(file string) (*scenario.Catalogue, error) {
	name, data := twbench.DefaultCatalogueFile, twbench.DefaultCatalogue()
	if file != "" {
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, usagef("read scenarios: %w", err)
		}
		name = file
	}
	cat, err := scenario.Parse(name, data)
	if err != nil {
		return nil, usageError{err}
	}
	if err := catalogueChecks(cat); err != nil {
		return nil, err
	}
	return cat, nil
}
