//go:build !unix

package target

import (
	"errors"
	"fmt"
)

func setListenOptions(uintptr, ListenOptions) error {
	return fmt.Errorf("SO_REUSEADDR and SO_REUSEPORT options: %w", errors.ErrUnsupported)
}
