//go:build !linux

package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
)

// Namespace is a network namespace; on this system there is none.
type Namespace struct{}

var errUnsupported = fmt.Errorf("netns: network namespaces need Linux: %w", errors.ErrUnsupported)

// New returns an error wrapping errors.ErrUnsupported: network namespaces
// are Linux's.
func New() (*Namespace, error) { return nil, errUnsupported }

// Create returns an error wrapping errors.ErrUnsupported.
func Create([]Setting) (*Namespace, error) { return nil, errUnsupported }

// Own returns an error wrapping errors.ErrUnsupported.
func Own() (*Namespace, error) { return nil, errUnsupported }

// Apply always fails on this system.
func (n *Namespace) Apply([]Setting) error { return errUnsupported }

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

// End is one end of a veth pair.
type End struct {
	Name string
	Addr netip.Prefix
}

// Veth always fails on this system.
func Veth(*Namespace, End, *Namespace, End) error { return errUnsupported }

// Dialer dials from inside a namespace; on this system there is none.
type Dialer struct{}

// ErrDialerClosed is a dial on a closed Dialer.
var ErrDialerClosed = errors.New("netns: dialer is closed")

// Dialer always fails on this system.
func (n *Namespace) Dialer(net.Dialer, int) (*Dialer, error) { return nil, errUnsupported }

// DialContext always fails on this system.
func (dl *Dialer) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errUnsupported
}

// Close does nothing.
func (dl *Dialer) Close() error { return nil }

// NeedsUserNamespace reports false: there are no namespaces here.
func NeedsUserNamespace() bool { return false }

// Child is a process in namespaces of its own; on this system there is
// none.
type Child struct{}

// StartError is a Child that could not be made.
type StartError struct {
	Err           error
	UserNamespace bool
}

func (e *StartError) Error() string {
	return "netns: start a child in namespaces of its own: " + e.Err.Error()
}
func (e *StartError) Unwrap() error { return e.Err }

// StartChild always fails on this system.
func StartChild(*exec.Cmd, bool) (*Child, error) {
	return nil, &StartError{Err: errUnsupported}
}

// Wait returns at once.
func (c *Child) Wait() error { return errUnsupported }

// Signal always fails.
func (c *Child) Signal(os.Signal) error { return errUnsupported }

// Explain says that namespaces are Linux's.
func Explain(error, bool) string {
	return "network namespaces are Linux's: on this system use --topology host"
}

// Refused reports whether err is the system refusing namespaces: here,
// always.
func Refused(err error) bool { return err != nil }
