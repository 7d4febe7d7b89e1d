package twbench_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/twbench/twbench/loadgen"
)

// TestCloseTableDocumented: the close-behaviour table of
// docs/close-matrix.md has a row for every protocol and closer that go
// together, by loadgen's closer table, and for no other.
func TestCloseTableDocumented(t *testing.T) {
	const page = "docs/close-matrix.md"
	documented := map[string]int{} // "protocol closer" -> line
	for _, l := range markdownLines(t, page) {
		cells := splitRow(l.text)
		if !strings.HasPrefix(strings.TrimSpace(l.text), "|") || len(cells) != 5 {
			continue
		}
		protocol := strings.TrimSpace(cells[0])
		if !loadgen.Protocol(protocol).Valid() {
			continue // the header, the rule, a row of options (any but http1.0)
		}
		for _, c := range strings.Split(cells[1], ",") {
			c = strings.Trim(strings.TrimSpace(c), "`")
			pair := protocol + " " + c
			if first, dup := documented[pair]; dup {
				t.Errorf("%s:%d: %s has a row already, at line %d", page, l.n, pair, first)
			}
			documented[pair] = l.n
		}
	}
	for _, p := range loadgen.Protocols() {
		for _, c := range loadgen.Closers() {
			pair := string(p) + " " + string(c)
			line, ok := documented[pair]
			switch works := loadgen.Supports(p, c) == nil; {
			case works && !ok:
				t.Errorf("%s: no row for protocol %s with closer %s, which loadgen supports", page, p, c)
			case !works && ok:
				t.Errorf("%s:%d: a row for protocol %s with closer %s, which loadgen refuses", page, line, p, c)
			}
			delete(documented, pair)
		}
	}
	for pair, line := range documented {
		t.Errorf("%s:%d: a row for %q, which is no protocol and closer loadgen knows", page, line, pair)
	}
}

// TestSchemaNamesClosers: the report schema's examples of protocols and
// closers are loadgen's lists, in their order.
func TestSchemaNamesClosers(t *testing.T) {
	s := loadSchema(t)
	runs, _, ok := s.child(s.root(), "runs")
	if !ok {
		t.Fatal("the schema has no runs")
	}
	sc, _, ok := s.child(s.resolve(node{runs.m["items"].(map[string]any), runs.ptr + "/items"}), "scenario")
	if !ok {
		t.Fatal("the schema's runs have no scenario")
	}
	for key, want := range map[string][]string{
		"protocol": stringsOf(loadgen.Protocols()),
		"closer":   stringsOf(loadgen.Closers()),
	} {
		n, _, ok := s.child(sc, key)
		if !ok {
			t.Errorf("the schema's scenario has no %s", key)
			continue
		}
		var got []string
		for _, e := range asSlice(n.m["examples"]) {
			got = append(got, fmt.Sprint(e))
		}
		if !slices.Equal(got, want) {
			t.Errorf("schema scenario.%s examples = %v; want loadgen's %v", key, got, want)
		}
	}
}

func stringsOf[S ~string](xs []S) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = string(x)
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// TestFlagRowsNameEveryCloser: the --protocol and --closer rows of
// docs/scenarios.md name every protocol and closer, in loadgen's order.
func TestFlagRowsNameEveryCloser(t *testing.T) {
	const page = "docs/scenarios.md"
	rows := map[string][]string{
		"--protocol": stringsOf(loadgen.Protocols()),
		"--closer":   stringsOf(loadgen.Closers()),
	}
	for _, l := range markdownLines(t, page) {
		cells := splitRow(l.text)
		if len(cells) < 2 {
			continue
		}
		for flag, want := range rows {
			if !strings.HasPrefix(strings.Trim(strings.TrimSpace(cells[0]), "`"), flag+" ") {
				continue
			}
			var got []string
			for _, s := range spans(cells[1]) {
				// Defaults named after the list repeat some.
				if slices.Contains(want, s) && !slices.Contains(got, s) {
					got = append(got, s)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s:%d: %s names %v; want %v", page, l.n, flag, got, want)
			}
			delete(rows, flag)
		}
	}
	for flag := range rows {
		t.Errorf("%s: no row for %s", page, flag)
	}
}
