package report

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/twbench/twbench/loadgen"
)

// TestQuantilesMatchOnePassEach: the one-pass quantiles are what
// ValueAtQuantile and Max give one pass each.
func TestQuantilesMatchOnePassEach(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		h := loadgen.NewHistogram()
		for range 1 + rng.IntN(5000) {
			_ = h.RecordValue(1 + rng.Int64N(int64(1)<<rng.IntN(32)))
		}
		got := quantiles(h)
		want := Percentiles{P50: h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90), P99: h.ValueAtQuantile(99),
			P999: h.ValueAtQuantile(99.9), Max: h.Max()}
		if got != want {
			t.Fatalf("histogram %d: quantiles = %+v; want %+v", i, got, want)
		}
	}
}

// TestFiguresOnlyKeepsWhatCompareReads: compare of runs cut down to their
// figures (as DecodeFigures reads them) is compare of the whole runs.
func TestFiguresOnlyKeepsWhatCompareReads(t *testing.T) {
	data, err := os.ReadFile("testdata/report.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	whole, err := ReadReport(data)
	if err != nil {
		t.Fatal(err)
	}
	slim, err := DecodeFigures(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	head, _ := ReadReport(data)
	head.Runs[0].QPS /= 2
	head.Runs[1].Client.Sampled = false
	head.Runs[2].Interrupted = true
	limits := Limits{Default: new(float64)}
	var a, b bytes.Buffer
	if err := WriteComparison(&a, Compare(whole, head, limits)); err != nil {
		t.Fatal(err)
	}
	if err := WriteComparison(&b, Compare(slim, head, limits)); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("compare of the figures alone differs from compare of the whole runs:\n%s\nwant\n%s", b.String(), a.String())
	}
	if len(slim.Runs[0].Client.Series) != 0 {
		t.Error("DecodeFigures kept a run's series")
	}
}
