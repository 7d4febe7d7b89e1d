//go:build !linux

package loadgen

// canFuse is false where the wire cannot write from inside a read: it
// writes each request the ordinary way.
const canFuse = false

func (c *wire) rw(uintptr) bool { return true }
