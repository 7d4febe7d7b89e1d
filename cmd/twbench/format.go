package main

import (
	"fmt"
	"strings"

	"github.com/twbench/twbench/report"
)

// resolveFormat returns the format of the report written to output (or to
// stdout when output is empty): the one named, or the one output's
// extension picks.
func resolveFormat(name, output string) (report.Format, error) {
	switch {
	case name != "":
		if f, ok := report.LookupFormat(name); ok {
			return f, nil
		}
		return report.Format{}, usagef("--format %q: want %s", name, formatNames())
	case output != "":
		return report.FormatForFile(output), nil
	}
	return report.Formats()[0], nil
}

// formatNames lists the formats --format takes: "text, json or csv".
func formatNames() string {
	var names []string
	for _, f := range report.Formats() {
		names = append(names, f.Name)
	}
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " or " + names[last]
}

// formatHelp is --format's help: each format, with the -o extensions that
// pick it.
func formatHelp() string {
	formats := report.Formats()
	nameW, extW := 0, 0
	for _, f := range formats {
		nameW, extW = max(nameW, len(f.Name)), max(extW, len(strings.Join(f.Extensions, " ")))
	}
	var b strings.Builder
	b.WriteString("report format: " + formatNames() + " (default " + formats[0].Name + ", or as -o's extension says)")
	for _, f := range formats {
		fmt.Fprintf(&b, "\n  %-*s  %-*s  %s", nameW, f.Name, extW, strings.Join(f.Extensions, " "), f.Description)
	}
	return b.String()
}
