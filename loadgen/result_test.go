package loadgen

import (
	"testing"
	"time"
)

// BenchmarkRecord is the latency's path on every request: a worker's batch,
// merged into the shared histogram under its lock once per batch.
func BenchmarkRecord(b *testing.B) {
	bt := batch{to: newRecorder()}
	b.ReportAllocs()
	d := 180 * time.Microsecond
	for i := 0; b.Loop(); i++ {
		bt.record(d + time.Duration(i%1000)*time.Microsecond)
	}
	bt.flush()
	if got := bt.to.h.TotalCount(); got < 1 {
		b.Fatalf("recorded %d values", got)
	}
}

func TestBatchRecordsEveryValue(t *testing.T) {
	r := newRecorder()
	bt := batch{to: r}
	for i := 0; i < 1000; i++ {
		bt.record(time.Duration(i) * time.Microsecond)
	}
	bt.record(-time.Second)  // clamped to 0
	bt.record(2 * time.Hour) // clamped to the histogram's highest value
	if got := r.h.TotalCount(); got != 896 {
		t.Errorf("before the last flush the histogram holds %d; want 896 (seven batches of 128)", got)
	}
	bt.flush()
	if got := r.h.TotalCount(); got != 1002 {
		t.Errorf("after the flush the histogram holds %d; want 1002", got)
	}
	if r.h.Min() != 0 || r.h.Max() < int64(time.Hour/time.Microsecond)-int64(time.Hour/time.Microsecond)/1000 {
		t.Errorf("min %d, max %d; want out-of-range values clamped to 0 and an hour", r.h.Min(), r.h.Max())
	}
}
