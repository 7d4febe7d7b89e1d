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
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode {
			d.add(item, "%s: want scenario names, not %s", key, kindName(item))
			continue
		}
		if _, ok := defined[item.Value]; !ok {
			d.add(item, "%s: no scenario %q in this file", key, item.Value)
			continue
		}
		names = append(names, item.Value)
	}
	return names
}
