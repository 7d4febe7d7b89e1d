package harness

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/report"
)

// A run given an instant starts its load then, not before, and says how
// late it was.
func TestMeasureStartsAtTheInstant(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserClient, 20)
	at := time.Now().Add(400 * time.Millisecond)
	run, err := Measure(context.Background(), sc, Options{StartAt: at})
	if err != nil {
		t.Fatal(err)
	}
	started, err := time.Parse(time.RFC3339Nano, run.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	if started.Before(at) {
		t.Errorf("the load started at %v, %v before the instant it was to start at", started, at.Sub(started))
	}
	if run.StartAt != at.UTC().Format(time.RFC3339Nano) || run.StartLateMS == nil {
		t.Fatalf("start_at %q, start_late_ms %v; want %q and a lateness", run.StartAt, run.StartLateMS, at.UTC().Format(time.RFC3339Nano))
	}
	if late := *run.StartLateMS; late < 0 || late > 200 {
		t.Errorf("start_late_ms = %g; want 0 to 200 (the baseline is taken before the instant)", late)
	}
}

// An instant already past starts the load at once, and the report says
// how late it is.
func TestMeasureStartsLate(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserClient, 5)
	at := time.Now().Add(-2 * time.Second)
	begin := time.Now()
	run, err := Measure(context.Background(), sc, Options{StartAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("the run took %v: it waited for an instant already past", took)
	}
	if run.StartLateMS == nil || *run.StartLateMS < 2000 {
		t.Fatalf("start_late_ms = %v; want at least 2000", run.StartLateMS)
	}
	if !hasNote(run.Notes, "late, after") {
		t.Errorf("no note says the load started late: %q", run.Notes)
	}
}

// A shard's report records its fleet's figures and its source address;
// its offset delays its first send.
func TestMeasureShard(t *testing.T) {
	sc := short(t, loadgen.HTTP11, loadgen.CloserClient, 5)
	sc.Rate = 100
	fleet := &report.RunShard{Concurrency: 12, Rate: 300, Requests: 15}
	run, err := Measure(context.Background(), sc, Options{Shard: fleet, Offset: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if run.Shard == nil || run.Shard.Concurrency != 12 || run.Shard.Rate != 300 || run.Shard.Requests != 15 {
		t.Fatalf("shard = %+v; want the fleet's figures", run.Shard)
	}
	if len(run.Shard.Sources) != 1 || run.Shard.Sources[0] != "127.0.0.1" {
		t.Errorf("sources = %q; want [127.0.0.1]", run.Shard.Sources)
	}
	// 5 sends at 100/s from 300 ms: the last is due at 340 ms.
	if run.DurationS < 0.34 {
		t.Errorf("the load lasted %.3f s; want at least 0.34 s, its sends offset by 300 ms", run.DurationS)
	}
}

func hasNote(notes []string, part string) bool {
	for _, n := range notes {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}
