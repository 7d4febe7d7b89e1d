package twbench_test

// Checks of the documentation: the JSON key tables of docs/report.md
// against docs/report.schema.json, and the relative links of the Markdown
// files. They read files only, and take milliseconds.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

const (
	reportPage = "docs/report.md"
	schemaFile = "docs/report.schema.json"
)

// TestReportKeysMatchSchema checks the key tables of docs/report.md against
// the schema, both ways, so that neither can gain or lose a key alone.
//
// A key table is a table whose first column is headed "key". It documents
// the object named by the first code span of the heading above it
// (`runs[]`, `runs[].client`), or the report itself when the heading has
// none. Each row's first cell holds one or more keys, as code spans, dotted
// below that object (`ports.usable_ports`).
//
// The depth checked is the tables' own:
//   - every key in a row must be in the schema;
//   - an object the tables open (a table's object, or one with a row for a
//     key of its own, as `ports` with `ports.usable_ports`) must have a row
//     for each of its keys;
//   - an object that is one row, as `closes` or `latency_us`, must name
//     each of its keys as a code span in that row's meaning (for a shared
//     definition such as the error classes, in one of the rows it has).
//
// Deeper objects named only in a meaning (the items of `ports.sources`) are
// not checked further.
func TestReportKeysMatchSchema(t *testing.T) {
	s := loadSchema(t)
	tables := keyTables(t, reportPage)

	// An object is a declaration of keys that the tables reach, by its
	// schema pointer.
	type object struct {
		decl
		path  string          // where the tables document it, for messages
		line  int             // the row that documents it, when it is one row
		named map[string]bool // code spans in the meanings of its rows
	}
	opened := map[string]*object{}  // objects with a row per key
	reached := map[string]*object{} // objects with a row of their own
	covered := map[string]bool{}    // decl pointer + "\x00" + key
	open := func(n node, path string) {
		for _, d := range s.decls(n) {
			if opened[d.ptr] == nil {
				opened[d.ptr] = &object{decl: d, path: path}
			}
		}
	}

	for _, tb := range tables {
		root, err := s.walk(s.root(), tb.object, nil)
		if err != nil {
			t.Errorf("%s:%d: the table's object %q: %v", reportPage, tb.line, tb.object, err)
			continue
		}
		open(root, display(tb.object))
		for _, r := range tb.rows {
			if len(r.keys) == 0 {
				t.Errorf("%s:%d: a row without a key (want the key as a code span)", reportPage, r.line)
			}
			for _, key := range r.keys {
				full := join(tb.object, key)
				child, err := s.walk(root, key, func(d decl, k string) {
					covered[d.ptr+"\x00"+k] = true
				})
				if err != nil {
					t.Errorf("%s:%d: key `%s` is not in %s (%v)", reportPage, r.line, full, schemaFile, err)
					continue
				}
				if i := strings.LastIndex(key, "."); i >= 0 {
					// A row for ports.usable_ports documents ports key by key.
					parent, _ := s.walk(root, key[:i], nil)
					open(parent, join(tb.object, key[:i]))
				}
				for _, cd := range s.decls(child) {
					o := reached[cd.ptr]
					if o == nil {
						o = &object{decl: cd, path: full, line: r.line, named: map[string]bool{}}
						reached[cd.ptr] = o
					}
					for _, name := range r.named {
						o.named[name] = true
					}
				}
			}
		}
	}

	for _, want := range []struct{ ptr, what string }{
		{"#", "the report"},
		{"#/$defs/run", "a run, runs[]"},
		{"#/$defs/end", "an end, runs[].client"},
	} {
		if opened[want.ptr] == nil {
			t.Errorf("%s has no key table for %s", reportPage, want.what)
		}
	}
	for _, ptr := range sortedKeys(opened) {
		o := opened[ptr]
		for _, k := range sortedKeys(o.props) {
			if !covered[ptr+"\x00"+k] {
				t.Errorf("%s: `%s` is in %s but has no row in the key tables",
					reportPage, display(join(o.path, k)), schemaFile)
			}
		}
	}
	for _, ptr := range sortedKeys(reached) {
		if opened[ptr] != nil {
			continue
		}
		o := reached[ptr]
		for _, k := range sortedKeys(o.props) {
			if !o.named[k] {
				t.Errorf("%s:%d: the row of `%s` does not name `%s`, a key of %s in %s",
					reportPage, o.line, o.path, k, ptr, schemaFile)
			}
		}
	}
}

// TestDocLinks checks that every relative link of the Markdown files
// resolves to a file or folder in the repository and, into a Markdown
// file, to one of its headings.
func TestDocLinks(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"README.md", "BENCHMARKS.md", "bench/README.md"}, pages...)
	repo, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, page := range pages {
		for _, l := range markdownLinks(t, page) {
			if strings.Contains(l.target, "://") || strings.HasPrefix(l.target, "mailto:") {
				continue
			}
			links++
			file, anchor, _ := strings.Cut(l.target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
			}
			abs, _ := filepath.Abs(path)
			if rel, err := filepath.Rel(repo, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				t.Errorf("%s:%d: link %q leaves the repository", page, l.line, l.target)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s:%d: link %q: no such file in the repository", page, l.line, l.target)
				continue
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !slices.Contains(headingAnchors(t, path), anchor) {
				t.Errorf("%s:%d: link %q: %s has no heading with the anchor #%s", page, l.line, l.target, path, anchor)
			}
		}
	}
	if links == 0 {
		t.Error("no relative links found: the link parser is broken")
	}
}

// TestDocsIndex checks that each page of docs/ starts with a title and is
// listed in docs/README.md, the index.
func TestDocsIndex(t *testing.T) {
	pages, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	indexed := map[string]bool{}
	for _, l := range markdownLinks(t, "docs/README.md") {
		file, _, _ := strings.Cut(l.target, "#")
		indexed[file] = true
	}
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "# ") {
			t.Errorf("%s: the first line is not a title (# ...)", page)
		}
		if name := filepath.Base(page); name != "README.md" && !indexed[name] {
			t.Errorf("%s is not linked from docs/README.md", page)
		}
	}
}

// Markdown.

type mdLine struct {
	n    int
	text string
}

// markdownLines returns the lines of a Markdown file outside fenced code.
func markdownLines(t *testing.T, path string) []mdLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []mdLine
	fence := ""
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		out = append(out, mdLine{i + 1, line})
	}
	return out
}

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	linkRe   = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
)

type link struct {
	line   int
	target string
}

// markdownLinks returns the inline links of a Markdown file, leaving out
// those in code.
func markdownLinks(t *testing.T, path string) []link {
	var out []link
	for _, l := range markdownLines(t, path) {
		// A code span may stand in a link's text, as in [`x`](x.md).
		text := codeSpan.ReplaceAllString(l.text, "x")
		for _, m := range linkRe.FindAllStringSubmatch(text, -1) {
			out = append(out, link{l.n, m[1]})
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives the headings of a
// Markdown file: lower case, punctuation dropped, spaces as hyphens, and
// -1, -2 ... after a repeat.
func headingAnchors(t *testing.T, path string) []string {
	var out []string
	seen := map[string]int{}
	for _, l := range markdownLines(t, path) {
		if !strings.HasPrefix(l.text, "#") {
			continue
		}
		text := strings.TrimSpace(strings.TrimLeft(l.text, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(text) {
			switch {
			case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r), r == '_', r == '-':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			seen[a]++
			a = fmt.Sprintf("%s-%d", a, n)
		} else {
			seen[a] = 1
		}
		out = append(out, a)
	}
	return out
}

type keyTable struct {
	object string // the documented object's path, "" for the report
	line   int
	rows   []keyRow
}

type keyRow struct {
	line  int
	keys  []string // the first cell's code spans
	named []string // the meaning's code spans
}

// keyTables returns the tables of a page whose first column is "key".
func keyTables(t *testing.T, path string) []keyTable {
	var tables []keyTable
	heading := ""
	var cur *keyTable
	lines := markdownLines(t, path)
	for i, l := range lines {
		if strings.HasPrefix(l.text, "#") {
			heading = l.text
		}
		if !strings.HasPrefix(l.text, "|") {
			cur = nil
			continue
		}
		cells := splitRow(l.text)
		if cur == nil {
			// A header, if the next line is the delimiter row.
			if strings.EqualFold(strings.TrimSpace(cells[0]), "key") && i+1 < len(lines) &&
				lines[i+1].n == l.n+1 && strings.HasPrefix(strings.TrimSpace(lines[i+1].text), "|-") {
				object := ""
				if m := codeSpan.FindStringSubmatch(heading); m != nil {
					object = m[1]
				}
				tables = append(tables, keyTable{object: object, line: l.n})
				cur = &tables[len(tables)-1]
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(l.text), "|-") {
			continue
		}
		r := keyRow{line: l.n, keys: spans(cells[0])}
		if len(cells) > 1 {
			r.named = spans(strings.Join(cells[1:], "|"))
		}
		cur.rows = append(cur.rows, r)
	}
	if len(tables) == 0 {
		t.Fatalf("%s: no key table (a table whose first column is headed \"key\")", path)
	}
	return tables
}

// splitRow splits a table row at its unescaped pipes, as GitHub does.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	if strings.HasSuffix(line, "|") && !strings.HasSuffix(line, `\|`) {
		line = line[:len(line)-1]
	}
	var cells []string
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			b.WriteByte('|')
			i++
		case line[i] == '|':
			cells = append(cells, b.String())
			b.Reset()
		default:
			b.WriteByte(line[i])
		}
	}
	return append(cells, b.String())
}

func spans(cell string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// The schema.

type schema struct {
	doc map[string]any
}

// node is a schema object and its JSON pointer.
type node struct {
	m   map[string]any
	ptr string
}

// decl is a schema object that declares properties itself.
type decl struct {
	ptr   string
	props map[string]any
}

func loadSchema(t *testing.T) schema {
	t.Helper()
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	return schema{doc}
}

func (s schema) root() node { return node{s.doc, "#"} }

// resolve follows local $refs.
func (s schema) resolve(n node) node {
	for range 10 {
		ref, ok := n.m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/$defs/") {
			return n
		}
		defs, _ := s.doc["$defs"].(map[string]any)
		m, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		n = node{m, ref}
	}
	return n
}

// object returns the object a node's keys are in: the node, or its items.
func (s schema) object(n node) node {
	n = s.resolve(n)
	if items, ok := n.m["items"].(map[string]any); ok {
		n = s.resolve(node{items, n.ptr + "/items"})
	}
	return n
}

// decls returns the declarations of a node's keys: its own properties and
// those of the schemas it combines with allOf.
func (s schema) decls(n node) []decl {
	n = s.object(n)
	var out []decl
	if props, ok := n.m["properties"].(map[string]any); ok {
		out = append(out, decl{n.ptr, props})
	}
	all, _ := n.m["allOf"].([]any)
	for i, a := range all {
		if m, ok := a.(map[string]any); ok {
			out = append(out, s.decls(node{m, fmt.Sprintf("%s/allOf/%d", n.ptr, i)})...)
		}
	}
	return out
}

func (s schema) child(n node, key string) (node, decl, bool) {
	for _, d := range s.decls(n) {
		if m, ok := d.props[key].(map[string]any); ok {
			return s.resolve(node{m, d.ptr + "/properties/" + key}), d, true
		}
	}
	return node{}, decl{}, false
}

// walk follows a dotted path of keys from n; each step is reported to
// step, if given.
func (s schema) walk(n node, path string, step func(decl, string)) (node, error) {
	if path == "" {
		return n, nil
	}
	for _, seg := range strings.Split(path, ".") {
		key := strings.TrimSuffix(seg, "[]")
		c, d, ok := s.child(n, key)
		if !ok {
			return node{}, fmt.Errorf("no key %q there", key)
		}
		if step != nil {
			step(d, key)
		}
		n = c
	}
	return n, nil
}

func join(object, key string) string {
	if object == "" {
		return key
	}
	return object + "." + key
}

func display(path string) string {
	if path == "" {
		return "the report"
	}
	return path
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
