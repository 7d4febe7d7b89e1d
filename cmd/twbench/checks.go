package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// checkPortRanges refuses a client port range the kernel would not use as
// given: it takes a per-socket bound only where it lies within
// ip_local_port_range, and ignores it otherwise.
func checkPortRanges(fs *pflag.FlagSet, scenarios []scenario.Scenario, host sockstat.Host) error {
	lo, hi, err := host.PortRange()
	if err != nil {
		return nil
	}
	var p problems
	for i := range scenarios {
		s := &scenarios[i]
		r, err := loadgen.ParsePortRange(s.ClientPortRange)
		if s.ClientPortRange == "" || err != nil || (int(r.Lo) >= lo && int(r.Hi) <= hi) {
			continue
		}
		p.add(fmt.Sprintf("%s: %s is not within net.ipv4.ip_local_port_range %d-%d, and the kernel ignores a per-socket bound outside it",
			fieldWhere(fs, s, "client-port-range", "client_port_range"), r, lo, hi))
	}
	return p.err()
}

// problems collects bad input, each message once, for one error naming
// them all.
type problems struct {
	seen map[string]bool
	errs []error
}

func (p *problems) add(msg string) {
	if p.seen[msg] {
		return
	}
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	p.seen[msg] = true
	p.errs = append(p.errs, errors.New(msg))
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return usageError{errors.Join(p.errs...)}
}

// fieldWhere names where a scenario's field was set: by its flag, or at
// its line in the scenario file.
func fieldWhere(fs *pflag.FlagSet, s *scenario.Scenario, flag, key string) string {
	if fs.Changed(flag) {
		return "--" + flag
	}
	return fmt.Sprintf("%s: scenario %q: %s", s.Where(key), s.Name, key)
}

// checkDialing tries each scenario's source addresses and port range on a
// socket before any load runs: an address this host does not have is bad
// input, not a run that failed.
func checkDialing(fs *pflag.FlagSet, scenarios []scenario.Scenario) error {
	var p problems
	for i := range scenarios {
		s := &scenarios[i]
		t := s.Target
		if t == "" {
			t = s.Protocol.Scheme() + "://127.0.0.1:1" // the built-in target's address
		}
		cfg := s.Config(t)
		// The port range first, on its own, so that each problem names its
		// flag or key.
		for _, c := range []struct {
			flag, key string
			given     bool
			cfg       func(loadgen.Config) loadgen.Config
		}{
			{"client-port-range", "client_port_range", s.ClientPortRange != "", func(c loadgen.Config) loadgen.Config { c.Sources = nil; return c }},
			{"source", "source", len(s.Sources) > 0, func(c loadgen.Config) loadgen.Config { c.PortRange = loadgen.PortRange{}; return c }},
		} {
			if !c.given {
				continue
			}
			if _, err := loadgen.Check(c.cfg(cfg)); err != nil {
				p.add(fieldWhere(fs, s, c.flag, c.key) + ": " + err.Error())
			}
		}
	}
	return p.err()
}
