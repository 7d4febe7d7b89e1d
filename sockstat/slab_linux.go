package sockstat

import (
	"fmt"
	"os"
)

// ReadSlab reads the slab cache called name from /proc/slabinfo, which
// only root can read.
func ReadSlab(name string) (Slab, error) {
	f, err := os.Open("/proc/slabinfo")
	if err != nil {
		return Slab{}, fmt.Errorf("sockstat: %w", err)
	}
	defer f.Close()
	return ParseSlabinfo(f, name)
}
