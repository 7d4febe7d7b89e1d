//go:build !linux

package netns

import (
	"context"
	"errors"
	"fmt"
)

// Namespace is a network namespace; on this system there is none.
type Namespace struct{}

// New returns an error wrapping errors.ErrUnsupported: network namespaces
// are Linux's.
func New() (*Namespace, error) {
	return nil, fmt.Errorf("netns: network namespaces need Linux: %w", errors.ErrUnsupported)
}

// Do always fails on this system.
func (n *Namespace) Do(f func() error) error {
	return fmt.Errorf("netns: enter namespace: %w", errors.ErrUnsupported)
}

// FillTimeWait always fails on this system.
func (n *Namespace) FillTimeWait(ctx context.Context, port uint16, count int) error {
	return fmt.Errorf("netns: fill TIME_WAIT: %w", errors.ErrUnsupported)
}

// Close does nothing.
func (n *Namespace) Close() error { return nil }
