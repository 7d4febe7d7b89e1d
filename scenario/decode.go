package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/twbench/twbench/loadgen"
)

// Parse decodes a catalogue: a top-level "scenarios" list of mappings. It
// is strict: an unknown key, a value of the wrong kind or a scenario that
// does not validate is an error naming file:line, and every problem in the
// file is reported, joined. The scenarios are returned as written, without
// their defaults, so that a flag given later (-n, say) is not overridden
// by a default applied here; call ApplyDefaults before running one.
func Parse(file string, data []byte) (*Catalogue, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: a catalogue is one document", file, max(second.Line, 1))
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(file, err)
	}
	d := decoder{file: file}
	cat := &Catalogue{File: file}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: no scenarios: want a top-level \"scenarios\" list", file)
	}
	if n := firstAnchor(&root); n != nil {
		return nil, d.at(n, "YAML anchors, aliases and merge keys (&name, *name, <<) are not supported: write each scenario's values out")
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, d.at(top, "want a mapping with a \"scenarios\" list, not %s", kindName(top))
	}
	var list, suite, byName, suites *yaml.Node
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		switch k.Value {
		case "scenarios":
			if list != nil {
				d.add(k, "\"scenarios\" given twice (first at line %d)", list.Line)
				continue
			}
			list = v
		case "default":
			if suite != nil {
				d.add(k, "\"default\" given twice (first at line %d)", suite.Line)
				continue
			}
			suite = v
		case "only_by_name":
			if byName != nil {
				d.add(k, "\"only_by_name\" given twice (first at line %d)", byName.Line)
				continue
			}
			byName = v
		case "suites":
			if suites != nil {
				d.add(k, "\"suites\" given twice (first at line %d)", suites.Line)
				continue
			}
			suites = v
		default:
			d.add(k, "unknown key %q (want \"scenarios\", \"default\", \"only_by_name\" or \"suites\")", k.Value)
		}
	}
	if list == nil {
		d.errs = append(d.errs, fmt.Errorf("%s: no \"scenarios\" list", file))
		return nil, errors.Join(d.errs...)
	}
	if list.Kind != yaml.SequenceNode {
		d.add(list, "scenarios: want a list of scenarios, not %s", kindName(list))
		return nil, errors.Join(d.errs...)
	}
	firstLine := map[string]int{}
	for _, item := range list.Content {
		s, ok := d.scenario(item)
		if !ok {
			continue
		}
		if line, dup := firstLine[s.Name]; dup {
			d.add(item, "scenario %q is defined twice (first at line %d)", s.Name, line)
			continue
		}
		firstLine[s.Name] = item.Line
		cat.Scenarios = append(cat.Scenarios, s)
	}
	if suite != nil {
		cat.Default = d.names("default", suite, firstLine, "name the scenarios `twbench run` runs, or leave the key out to run them all")
	}
	if byName != nil {
		cat.OnlyByName = d.names("only_by_name", byName, firstLine, "name the scenarios `twbench run --all` leaves out, or leave the key out")
	}
	if suites != nil {
		cat.Suites = d.suites(suites, firstLine)
	}
	d.baselines(cat, list, firstLine)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	if len(cat.Scenarios) == 0 {
		return nil, fmt.Errorf("%s:%d: the scenarios list is empty", file, list.Line)
	}
	return cat, nil
}

// decoder collects every problem in a file.
type decoder struct {
	file string
	errs []error
}

func (d *decoder) at(n *yaml.Node, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", d.file, n.Line, fmt.Sprintf(format, args...))
}

func (d *decoder) add(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, d.at(n, format, args...))
}

// scenario decodes one list item. It reports false if the item had errors.
func (d *decoder) scenario(n *yaml.Node) (Scenario, bool) {
	before := len(d.errs)
	if n.Kind != yaml.MappingNode {
		d.add(n, "a scenario must be a mapping of keys, not %s", kindName(n))
		return Scenario{}, false
	}
	s := Scenario{file: d.file, lines: map[string]int{}, Source: fmt.Sprintf("%s:%d", d.file, n.Line)}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := s.lines[k.Value]; dup {
			d.add(k, "key %q given twice (first at line %d)", k.Value, line)
			continue
		}
		s.lines[k.Value] = k.Line
		if k.Value == "expect" {
			d.expect(&s, v)
			continue
		}
		text, ok := d.value(k.Value, v)
		if !ok {
			continue
		}
		if err := s.set(k.Value, text); err != nil {
			d.add(v, "%v", err)
		}
	}
	if _, ok := s.lines["name"]; !ok {
		d.add(n, "scenario has no name")
	}
	checked := s
	checked.ApplyDefaults()
	for _, fe := range checked.Validate() {
		line := s.lines[fe.Field]
		if line == 0 {
			line = n.Line
		}
		d.errs = append(d.errs, fmt.Errorf("%s:%d: scenario %q: %v", d.file, line, s.Name, fe))
	}
	return s, len(d.errs) == before
}

// value returns a field's text: a scalar as written; for source, a list
// of addresses joined with commas as on the command line.
func (d *decoder) value(key string, v *yaml.Node) (string, bool) {
	if v.Kind == yaml.ScalarNode {
		return v.Value, true
	}
	if key == "source" && v.Kind == yaml.SequenceNode {
		items := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				d.add(item, "source: want addresses, not %s", kindName(item))
				return "", false
			}
			items = append(items, item.Value)
		}
		return strings.Join(items, ","), true
	}
	d.add(v, "%s: want a single value, not %s", key, kindName(v))
	return "", false
}

// expect decodes a scenario's expect key: a list of expressions, or one.
// The expressions are compiled against the report when the catalogue is
// loaded (report.CompileCheck), not here: this package does not know the
// report's figures.
func (d *decoder) expect(s *Scenario, v *yaml.Node) {
	items := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		items = v.Content
	}
	for _, item := range items {
		switch {
		case item.Kind != yaml.ScalarNode:
			d.add(item, "expect: want an expression such as \"server.time_wait_per_request > 0.9\", not %s", kindName(item))
			continue
		case strings.TrimSpace(item.Value) == "":
			d.add(item, "expect: an empty expression")
			continue
		}
		s.Expect = append(s.Expect, Expectation{Expr: item.Value, Source: fmt.Sprintf("%s:%d", d.file, item.Line)})
	}
}

// Fields lists the keys a scenario may have.
func Fields() []string {
	fields := []string{"name", "description", "protocol", "closer", "target", "concurrency", "rate",
		"duration", "requests", "timeout", "sample_interval", "request_size", "response_size",
		"requests_per_conn", "half_close", "client_port_range", "source", "max_header_bytes", "max_body_bytes",
		"topology"}
	for _, n := range NamespaceSettings() {
		fields = append(fields, n.Key)
	}
	return append(fields, "proxy", "upstream_keepalive", "reuseaddr", "reuseport", "restart_at", "baseline", "expect")
}

// set sets the field named key from its text, as written in YAML or on
// the command line.
func (s *Scenario) set(key, text string) error {
	var err error
	switch key {
	case "name":
		s.Name = text
	case "description":
		s.Description, err = oneLine(text)
	case "protocol":
		s.Protocol = loadgen.Protocol(text)
	case "closer":
		s.Closer = loadgen.Closer(text)
	case "target":
		s.Target = text
	case "concurrency":
		var n int64
		n, err = parseInt(text)
		s.Concurrency = int(n)
	case "rate":
		s.Rate, err = parseRate(text)
	case "duration":
		s.Duration, err = parseDuration(text)
	case "requests":
		s.Requests, err = parseInt(text)
	case "timeout":
		s.Timeout, err = parseDuration(text)
	case "sample_interval":
		s.SampleInterval, err = parseDuration(text)
	case "request_size", "response_size", "requests_per_conn":
		var n int64
		n, err = parseInt(text)
		if err == nil && (n < 0 || n > math.MaxInt32) {
			err = fmt.Errorf("%s is out of range", text)
		}
		switch key {
		case "request_size":
			s.RequestSize = int(n)
		case "response_size":
			s.ResponseSize = int(n)
		default:
			s.RequestsPerConn = int(n)
		}
	case "max_header_bytes":
		var n int64
		n, err = parseInt(text)
		if err == nil && (n < 0 || n > math.MaxInt32) {
			err = fmt.Errorf("%s is out of range", text)
		}
		s.MaxHeaderBytes = int(n)
	case "max_body_bytes":
		s.MaxBodyBytes, err = parseInt(text)
	case "half_close":
		s.HalfClose, err = parseBool(text)
	case "client_port_range":
		s.ClientPortRange = strings.TrimSpace(text)
	case "topology":
		s.Topology = strings.TrimSpace(text)
	case "proxy":
		s.Proxy, err = parseBool(text)
	case "upstream_keepalive":
		s.UpstreamKeepAlive, err = parseBool(text)
	case "source":
		s.Sources = nil
		for _, a := range strings.Split(text, ",") {
			if a = strings.TrimSpace(a); a != "" {
				s.Sources = append(s.Sources, a)
			}
		}
		if len(s.Sources) == 0 {
			err = errors.New("no address: want one or more, separated by commas")
		}
	case "reuseaddr", "reuseport", "restart_at", "baseline":
		err = s.setServer(key, text)
	default:
		if s.setNamespace(key, text) == nil {
			break
		}
		return fmt.Errorf("unknown key %q%s (want one of %s)", key, suggest(key), strings.Join(Fields(), ", "))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if s.given == nil {
		s.given = map[string]bool{}
	}
	s.given[key] = true
	return nil
}

// Set sets a field from its text, as for the key in a scenario file.
func (s *Scenario) Set(key, text string) error { return s.set(key, text) }

// oneLine returns text as one line: line breaks, tabs and runs of spaces
// become one space. A description is printed as a column of a list and a
// line of a report; another control character (an ANSI escape, say) would
// break both, and is an error.
func oneLine(text string) (string, error) {
	line := strings.Join(strings.Fields(text), " ")
	for i, r := range line {
		if unicode.IsControl(r) {
			return "", fmt.Errorf("control character %U at byte %d: want plain text", r, i)
		}
	}
	return line, nil
}

func parseInt(text string) (int64, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", text)
	}
	return n, nil
}

func parseBool(text string) (bool, error) {
	switch strings.ToLower(text) {
	case "true", "yes", "on":
		return true, nil
	case "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q: want true or false", text)
}

func parseRate(text string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSuffix(strings.ReplaceAll(text, "_", ""), "/s"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a rate in requests per second", text)
	}
	return v, nil
}

func parseDuration(text string) (Duration, error) {
	if text == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 10s, 500ms or 1m", text)
	}
	return Duration(d), nil
}

// suggest returns ` (did you mean "x"?)` for the known key nearest to
// key, if it is at most two edits away.
func suggest(key string) string {
	best, bestDist := "", 3
	for _, f := range Fields() {
		if d := editDistance(key, f); d < bestDist {
			best, bestDist = f, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// firstAnchor returns the first node that defines an anchor, refers to
// one or is a merge key, or nil. An alias would make one value appear at
// several places, and errors could not name the line the value came from.
func firstAnchor(n *yaml.Node) *yaml.Node {
	if n.Anchor != "" || n.Kind == yaml.AliasNode || (n.Kind == yaml.ScalarNode && n.Tag == "!!merge") {
		return n
	}
	for _, c := range n.Content {
		if a := firstAnchor(c); a != nil {
			return a
		}
	}
	return nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return "a single value"
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError rewrites a YAML syntax error as file:line: message.
func yamlError(file string, err error) error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("%s:%s: %s", file, m[1], m[2])
	}
	return fmt.Errorf("%s: %s", file, strings.TrimPrefix(msg, "yaml: "))
}
