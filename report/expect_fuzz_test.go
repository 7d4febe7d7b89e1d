package report_test

import (
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// FuzzCheck compiles any text as an expectation and evaluates what
// compiles against an empty run and a full one: an error or a verdict,
// never a panic, and a one-line message either way.
func FuzzCheck(f *testing.F) {
	for _, seed := range []string{
		"closes.server_first == connections",
		"server.time_wait_per_request > 0.8",
		"ports.max_sustainable_qps.network > 100 * qps",
		"errors.EADDRNOTAVAIL == 0",
		"connections <= scenario.concurrency",
		"exhaustion[0].ratio > 0.9",
		"latency_us.p99 < 5000 || qps / 0 > 1",
		"len(notes) == 0 && scenario.name matches '^a'",
		"client.peak.TIME_WAIT == 0",
		"qps >",
	} {
		f.Add(seed)
	}
	rep := fixture()
	f.Fuzz(func(t *testing.T, text string) {
		c, err := report.CompileCheck(text, "fuzz")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("CompileCheck(%q) error %q: want one line", text, err)
			}
			return
		}
		for _, r := range []*report.Run{{}, &rep.Runs[0], &rep.Runs[2]} {
			e := c.Eval(r)
			if strings.Contains(e.Error, "\n") {
				t.Fatalf("Eval(%q) error %q: want one line", text, e.Error)
			}
			_ = e.Describe()
		}
	})
}
