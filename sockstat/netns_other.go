//go:build !linux

package sockstat

import (
	"errors"
	"fmt"
)

// NetNamespace returns an error wrapping errors.ErrUnsupported: network
// namespaces are Linux's.
func NetNamespace() (string, error) {
	return "", fmt.Errorf("sockstat: network namespaces are Linux's: %w", errors.ErrUnsupported)
}
