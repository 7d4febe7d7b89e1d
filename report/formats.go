package report

import (
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// A Format is one way to write a report. Formats is the one list of them:
// the command takes its --format names and help, the rule that picks a
// format by the -o file's extension, and the writer it calls from it.
type Format struct {
	// Name is what --format takes.
	Name string
	// Aliases are other names --format takes for it.
	Aliases []string
	// Extensions are the -o file name endings, lower case with the dot,
	// that pick this format.
	Extensions []string
	// Description says in one line what the format holds and for whom.
	Description string
	// Write writes r to w in this format and returns every write error.
	Write func(w io.Writer, r *Report) error
}

// Formats returns the report's output formats. The first, text, is the
// default: for standard output, and for an -o file whose extension no
// format claims.
func Formats() []Format {
	return []Format{
		{Name: "text", Extensions: []string{".txt"}, Write: WriteText,
			Description: "for people: the scenarios side by side, then a sentence on each"},
		{Name: "json", Extensions: []string{".json"}, Write: WriteJSON,
			Description: "every figure (twbench.report/v1), as compare and CI jobs read it"},
		{Name: "csv", Extensions: []string{".csv"}, Write: WriteCSV,
			Description: "the sampled socket states, a row per sample per end"},
		{Name: "html", Aliases: []string{"htm"}, Extensions: []string{".html", ".htm"}, Write: WriteHTML,
			Description: "one page that opens offline, with charts drawn as SVG"},
		{Name: "junit", Extensions: []string{".xml"}, Write: WriteJUnit,
			Description: "JUnit XML for CI: a suite per scenario, a case per expectation"},
	}
}

// LookupFormat returns the format name or one of its aliases names.
func LookupFormat(name string) (Format, bool) {
	for _, f := range Formats() {
		if f.Name == name || slices.Contains(f.Aliases, name) {
			return f, true
		}
	}
	return Format{}, false
}

// FormatForFile returns the format a file name's extension picks, in any
// case; the default, text, when no format claims the extension.
func FormatForFile(path string) Format {
	ext := strings.ToLower(filepath.Ext(path))
	all := Formats()
	for _, f := range all {
		if ext != "" && slices.Contains(f.Extensions, ext) {
			return f
		}
	}
	return all[0]
}
