package report_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// TestFormats checks the list of formats the command derives its flag,
// its -o rule and its writers from: each name, alias and extension is
// claimed once, and each format writes the fixture.
func TestFormats(t *testing.T) {
	formats := report.Formats()
	if formats[0].Name != "text" {
		t.Errorf("the first format, the default, is %s; want text", formats[0].Name)
	}
	claimed := map[string]string{}
	claim := func(what, by string) {
		if other, ok := claimed[what]; ok {
			t.Errorf("%s is claimed by %s and %s", what, other, by)
		}
		claimed[what] = by
	}
	for _, f := range formats {
		claim("name "+f.Name, f.Name)
		for _, a := range f.Aliases {
			claim("name "+a, f.Name)
		}
		for _, ext := range f.Extensions {
			if !strings.HasPrefix(ext, ".") || strings.ToLower(ext) != ext {
				t.Errorf("format %s: extension %q; want a dot and lower case", f.Name, ext)
			}
			claim("extension "+ext, f.Name)
		}
		if f.Description == "" || strings.Contains(f.Description, "\n") || len([]rune(f.Description)) > 70 {
			t.Errorf("format %s: description %q; want one line of at most 70 characters", f.Name, f.Description)
		}
		var b bytes.Buffer
		if err := f.Write(&b, fixture()); err != nil || b.Len() == 0 {
			t.Errorf("format %s: Write = %v, %d bytes; want the report", f.Name, err, b.Len())
		}
		if err := f.Write(failingWriter{}, fixture()); err == nil {
			t.Errorf("format %s: Write to a failing writer = nil; want its error", f.Name)
		}
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestLookupFormat(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"text", "text"}, {"json", "json"}, {"csv", "csv"}, {"html", "html"}, {"htm", "html"}, {"junit", "junit"},
		{"xml", ""}, {"HTML", ""}, {"", ""},
	} {
		f, ok := report.LookupFormat(tc.name)
		if f.Name != tc.want || ok != (tc.want != "") {
			t.Errorf("LookupFormat(%q) = %q, %v; want %q", tc.name, f.Name, ok, tc.want)
		}
	}
}

func TestFormatForFile(t *testing.T) {
	for _, tc := range []struct{ path, want string }{
		{"r.json", "json"}, {"out/R.JSON", "json"}, {"r.csv", "csv"}, {"r.html", "html"}, {"r.HTM", "html"},
		{"report.xml", "junit"}, {"r.XML", "junit"}, {"r.txt", "text"}, {"report", "text"}, {"r.json.gz", "text"}, {".json", "json"},
	} {
		if got := report.FormatForFile(tc.path).Name; got != tc.want {
			t.Errorf("FormatForFile(%q) = %s; want %s", tc.path, got, tc.want)
		}
	}
}

// TestFormatsDocumented: the table under docs/report.md's Formats has a
// row for each format, with its extensions, and none for a format there is not.
func TestFormatsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(doc), "\n## Formats\n")
	section, _, _ = strings.Cut(section, "\n## ")
	rows := regexp.MustCompile("(?m)^\\| `([a-z]+)`[^|]*\\| ([^|]*) \\|").FindAllStringSubmatch(section, -1)
	documented := map[string]string{}
	for _, r := range rows {
		documented[r[1]] = r[2]
	}
	formats := report.Formats()
	for _, f := range formats {
		exts, ok := documented[f.Name]
		if !ok {
			t.Errorf("docs/report.md has no row for format %s", f.Name)
			continue
		}
		for _, ext := range f.Extensions {
			if !strings.Contains(exts, "`"+ext+"`") {
				t.Errorf("docs/report.md: format %s's row does not give its extension %s (%q)", f.Name, ext, exts)
			}
		}
	}
	if len(documented) != len(formats) {
		t.Errorf("docs/report.md documents %d formats (%v); report.Formats has %d", len(documented), documented, len(formats))
	}
}
