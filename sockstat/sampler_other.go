//go:build !linux && !darwin

package sockstat

import (
	"errors"
	"fmt"
	"net/netip"
)

// Sampler reads socket states; on this system it cannot.
type Sampler struct{}

// NewSampler returns an error wrapping errors.ErrUnsupported: sampling
// socket states needs Linux's NETLINK_SOCK_DIAG or macOS's pcblist_n.
func NewSampler(target netip.AddrPort) (*Sampler, error) {
	return nil, fmt.Errorf("sockstat: socket-state sampling needs Linux (NETLINK_SOCK_DIAG) or macOS (pcblist_n): %w", errors.ErrUnsupported)
}

// Sample always fails on this system.
func (s *Sampler) Sample() (Sample, error) {
	return Sample{}, fmt.Errorf("sockstat: sample: %w", errors.ErrUnsupported)
}

// Close does nothing.
func (s *Sampler) Close() error { return nil }

// Notes are none on this system.
func (s *Sampler) Notes() []string { return nil }

// SplitBySource does nothing on this system.
func (s *Sampler) SplitBySource(addrs []netip.Addr) {}

// Holders returns nothing on this system.
func (s *Sampler) Holders() (client, server TimeWaitHolders) { return }

// setIn does nothing: there are no network namespaces here.
func (s *Sampler) setIn(func(func() error) error) {}
