package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

func TestResolveFormat(t *testing.T) {
	for _, tc := range []struct{ format, output, want string }{
		{"", "", "text"},
		{"", "r.json", "json"},
		{"", "dir/R.JSON", "json"},
		{"", "r.csv", "csv"},
		{"", "r.html", "html"},
		{"", "r.htm", "html"},
		{"", "r.txt", "text"},
		{"", "report", "text"},
		{"json", "", "json"},
		{"json", "r.html", "json"}, // --format wins over the extension
		{"htm", "", "html"},
		{"text", "r.json", "text"},
	} {
		f, err := resolveFormat(tc.format, tc.output)
		if err != nil || f.Name != tc.want {
			t.Errorf("resolveFormat(%q, %q) = %s, %v; want %s", tc.format, tc.output, f.Name, err, tc.want)
		}
	}
	for _, bad := range []string{"xml", "HTML", "pdf"} {
		if _, err := resolveFormat(bad, "r.json"); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "want "+formatNames()) {
			t.Errorf("resolveFormat(%q) = %v; want a usage error listing the formats", bad, err)
		}
	}
}

// TestFormatHelp: --format's help comes from report.Formats, every
// format with its extensions and description.
func TestFormatHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"run", "--help"}, &stdout, &stderr); exitCode(err) != exitOK {
		t.Fatalf("run --help: %v", err)
	}
	for _, f := range report.Formats() {
		if !strings.Contains(stdout.String(), f.Name+" ") || !strings.Contains(stdout.String(), f.Description) ||
			!strings.Contains(stdout.String(), strings.Join(f.Extensions, " ")) {
			t.Errorf("run --help does not describe format %s (%s, %q):\n%s", f.Name, f.Extensions, f.Description, stdout.String())
		}
	}
}
