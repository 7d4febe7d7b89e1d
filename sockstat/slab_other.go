//go:build !linux

package sockstat

import (
	"errors"
	"fmt"
)

// ReadSlab returns an error wrapping errors.ErrUnsupported: slab caches
// are Linux's.
func ReadSlab(name string) (Slab, error) {
	return Slab{}, fmt.Errorf("sockstat: slab cache %s is read on Linux only: %w", name, errors.ErrUnsupported)
}
