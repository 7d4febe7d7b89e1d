package scenario

import (
	"slices"

	"gopkg.in/yaml.v3"
)

// Catalogue is a set of named scenarios, in the order of their file.
type Catalogue struct {
	File      string
	Scenarios []Scenario
	// Default names the scenarios `twbench run` runs when given none; empty
	// runs them all.
	Default []string
	// OnlyByName names the scenarios `twbench run --all` leaves out: they
	// run when named (network-ceiling takes minutes).
	OnlyByName []string
	// Suites are named lists of scenarios (`twbench run --suite NAME`), in
	// the order of their file.
	Suites []Suite
}

// Suite is a named list of the catalogue's scenarios.
type Suite struct {
	Name      string
	Scenarios []string
}

// Suite returns the scenarios of the suite called name.
func (c *Catalogue) Suite(name string) ([]Scenario, bool) {
	i := slices.IndexFunc(c.Suites, func(s Suite) bool { return s.Name == name })
	if i < 0 {
		return nil, false
	}
	out := make([]Scenario, 0, len(c.Suites[i].Scenarios))
	for _, n := range c.Suites[i].Scenarios {
		if s, ok := c.Lookup(n); ok {
			out = append(out, s)
		}
	}
	return out, true
}

// SuiteNames returns the suites' names.
func (c *Catalogue) SuiteNames() []string {
	names := make([]string, len(c.Suites))
	for i, s := range c.Suites {
		names[i] = s.Name
	}
	return names
}

// All returns the scenarios `twbench run --all` runs: every one but those
// that run only by name.
func (c *Catalogue) All() []Scenario {
	var out []Scenario
	for _, s := range c.Scenarios {
		if !slices.Contains(c.OnlyByName, s.Name) {
			out = append(out, s)
		}
	}
	return out
}

// DefaultSuite returns the scenarios run when none is named.
func (c *Catalogue) DefaultSuite() []Scenario {
	if len(c.Default) == 0 {
		return append([]Scenario(nil), c.Scenarios...)
	}
	out := make([]Scenario, 0, len(c.Default))
	for _, name := range c.Default {
		if s, ok := c.Lookup(name); ok {
			out = append(out, s)
		}
	}
	return out
}

// Lookup returns the scenario called name.
func (c *Catalogue) Lookup(name string) (Scenario, bool) {
	for _, s := range c.Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Names returns the scenarios' names.
func (c *Catalogue) Names() []string {
	names := make([]string, len(c.Scenarios))
	for i, s := range c.Scenarios {
		names[i] = s.Name
	}
	return names
}

// suites decodes the top-level suites mapping: suite names, each with a
// list of scenario names.
func (d *decoder) suites(n *yaml.Node, defined map[string]int) []Suite {
	if n.Kind != yaml.MappingNode {
		d.add(n, "suites: want a mapping of suite names to lists of scenario names, not %s", kindName(n))
		return nil
	}
	var out []Suite
	first := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch line, dup := first[k.Value]; {
		case k.Kind != yaml.ScalarNode || !nameRE.MatchString(k.Value):
			d.add(k, "suites: %q is not a suite name: want letters, digits, '-', '_' or '.'", k.Value)
			continue
		case dup:
			d.add(k, "suites: suite %q given twice (first at line %d)", k.Value, line)
			continue
		}
		first[k.Value] = k.Line
		names := d.names("suites: "+k.Value, v, defined, "name the suite's scenarios, or leave the suite out")
		if names != nil {
			out = append(out, Suite{Name: k.Value, Scenarios: names})
		}
	}
	return out
}

// names decodes a top-level list of scenario names (default,
// only_by_name); empty says what to do instead of an empty list.
func (d *decoder) names(key string, n *yaml.Node, defined map[string]int, empty string) []string {
	if n.Kind != yaml.SequenceNode {
		d.add(n, "%s: want a list of scenario names, not %s", key, kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		d.add(n, "%s: an empty list; %s", key, empty)
		return nil
	}
	var names []string
	listed := map[string]int{}
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode {
			d.add(item, "%s: want scenario names, not %s", key, kindName(item))
			continue
		}
		if _, ok := defined[item.Value]; !ok {
			d.add(item, "%s: no scenario %q in this file", key, item.Value)
			continue
		}
		if line, dup := listed[item.Value]; dup {
			d.add(item, "%s: %q listed twice (first at line %d)", key, item.Value, line)
			continue
		}
		listed[item.Value] = item.Line
		names = append(names, item.Value)
	}
	return names
}
