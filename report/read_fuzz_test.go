package report_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/twbench/twbench/report"
)

// FuzzReadReport reads any bytes as a report: an error, or a report that
// compare and every writer take without a panic. The two readers agree.
func FuzzReadReport(f *testing.F) {
	golden, err := os.ReadFile("testdata/report.json.golden")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)/2])
	f.Add([]byte(`{"schema":"twbench.report/v1","runs":[{"scenario":{"name":"a"},"latency_hdr":"x","client":{"series":[{"t":1,"TIME_WAIT":3}]}}]}`))
	f.Add([]byte(`{"schema":"twbench.report/v1","runs":null,"later":{"key":[1,2]}}`))
	f.Add([]byte(`{"schema":"twbench.report/v1","runs":[{"client":{"series":[{"t":"x"}]}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := report.ReadReport(data)
		slim, slimErr := report.DecodeFigures(bytes.NewReader(data))
		if (err == nil) != (slimErr == nil) {
			t.Fatalf("ReadReport error %v, DecodeFigures error %v; want both or neither", err, slimErr)
		}
		if err != nil {
			return
		}
		c := report.Compare(r, slim, report.Limits{})
		_ = c.Regressions()
		_ = report.WriteComparison(io.Discard, c)
		if len(r.Runs) > 4 {
			return // the writers' cost grows with the runs, not their code paths
		}
		for _, format := range report.Formats() {
			_ = format.Write(io.Discard, r)
		}
	})
}
