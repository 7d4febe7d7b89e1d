package sockstat

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

func TestNextWait(t *testing.T) {
	for _, tc := range []struct {
		interval, cost, want time.Duration
	}{
		{time.Second, 0, time.Second},
		{time.Second, time.Millisecond, time.Second},
		{time.Second, 40 * time.Millisecond, time.Second}, // exactly 1/25 of the interval
		{time.Second, 60 * time.Millisecond, 1500 * time.Millisecond},
		{100 * time.Millisecond, 100 * time.Millisecond, 2500 * time.Millisecond},
		{0, 3 * time.Millisecond, 75 * time.Millisecond},
		{0, 0, 0},
	} {
		if got := NextWait(tc.interval, tc.cost); got != tc.want {
			t.Errorf("NextWait(%v, %v) = %v; want %v", tc.interval, tc.cost, got, tc.want)
		}
	}
}

// TestUnsupported checks the fallback on systems without NETLINK_SOCK_DIAG
// or pcblist_n.
func TestUnsupported(t *testing.T) {
	if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
		t.Skip("sampling is supported on " + runtime.GOOS)
	}
	if _, err := NewSampler(netip.MustParseAddrPort("127.0.0.1:8080")); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("NewSampler(127.0.0.1:8080) error = %v; want one wrapping errors.ErrUnsupported", err)
	}
	var s Sampler
	if _, err := s.Sample(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Sample() error = %v; want one wrapping errors.ErrUnsupported", err)
	}
	if _, err := ReadHost(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ReadHost() error = %v; want one wrapping errors.ErrUnsupported", err)
	}
	if _, err := ReadCounters(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("ReadCounters() error = %v; want one wrapping errors.ErrUnsupported", err)
	}
}
