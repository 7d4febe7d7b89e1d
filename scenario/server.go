package scenario

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/twbench/twbench/target"
)

// setServer sets a key of the built-in target's listener, or the
// scenario's baseline.
func (s *Scenario) setServer(key, text string) error {
	switch key {
	case "reuseaddr":
		on, err := parseBool(text)
		if err != nil {
			return err
		}
		s.ReuseAddr = &on
	case "reuseport":
		n, err := parseInt(text)
		if err != nil {
			return err
		}
		if n < 1 || n > target.MaxReusePort {
			return fmt.Errorf("%s: want 1 to %d listeners", text, target.MaxReusePort)
		}
		s.ReusePort = int(n)
	case "restart_at":
		d, err := parseDuration(text)
		if err != nil {
			return err
		}
		s.RestartAt = d
	case "baseline":
		s.Baseline = text
	}
	return nil
}

// ListenOptions are the built-in target's listening sockets' options.
func (s *Scenario) ListenOptions() target.ListenOptions {
	return target.ListenOptions{NoReuseAddr: s.ReuseAddr != nil && !*s.ReuseAddr, ReusePort: s.ReusePort}
}

// serverProblems returns what is wrong with the built-in target's keys.
func (s *Scenario) serverProblems() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	for _, key := range []string{"reuseaddr", "reuseport", "restart_at"} {
		switch {
		case !s.given[key]:
		case s.Target != "":
			add(key, "sets up twbench's built-in target: give no target")
		case s.Proxy && key != "restart_at":
			add(key, "sets up the built-in target's listener, not the proxy's: give no proxy")
		}
	}
	if s.given["restart_at"] {
		switch {
		case s.RestartAt <= 0:
			add("restart_at", "%v: want a time into the load, such as 2s", s.RestartAt)
		case s.Duration <= 0 || s.RestartAt >= s.Duration:
			add("restart_at", "%v: want a time within the load's duration (%v)", s.RestartAt, s.Duration)
		case s.Proxy:
			add("restart_at", "restarts the built-in target, not the proxy: give no proxy")
		}
	}
	if s.Baseline != "" && s.Baseline == s.Name {
		add("baseline", "%q is this scenario: name the one it modifies", s.Baseline)
	}
	return errs
}

// RestartDelay is how long into the load the built-in target is stopped
// and started again; 0 for never.
func (s *Scenario) RestartDelay() time.Duration { return time.Duration(s.RestartAt) }

// baselines checks that each scenario's baseline is one of the file's.
func (d *decoder) baselines(cat *Catalogue, list *yaml.Node, defined map[string]int) {
	for _, s := range cat.Scenarios {
		if s.Baseline == "" {
			continue
		}
		if _, ok := defined[s.Baseline]; !ok {
			d.errs = append(d.errs, fmt.Errorf("%s:%d: scenario %q: baseline: no scenario %q in this file",
				d.file, max(s.lines["baseline"], list.Line), s.Name, s.Baseline))
		}
	}
}
