package loadgen

import (
	"testing"
	"time"
)

func TestDueAt(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		i    int64
		want time.Duration
	}{
		{4000, 0, 0},
		{4000, 1, 250 * time.Microsecond},
		{4000, 4000, time.Second},
		{4000, 39999, 9999750 * time.Microsecond},
		{3, 1, 333333333 * time.Nanosecond},
		{0.5, 2, 4 * time.Second},
		{1e6, 1e9, 1000 * time.Second},
	} {
		if got := dueAt(tc.rate, tc.i); got != tc.want {
			t.Errorf("dueAt(%g, %d) = %v; want %v", tc.rate, tc.i, got, tc.want)
		}
	}
}
