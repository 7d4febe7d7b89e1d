package sockstat

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// TimeWaitSlab is the slab cache Linux keeps IPv4 TIME_WAIT sockets in
// (struct tcp_timewait_sock); tw_sock_TCPv6 holds IPv6's.
const TimeWaitSlab = "tw_sock_TCP"

// TimeWaitObjectBytes is the size of one tw_sock_TCP object when
// /proc/slabinfo cannot be read: 256 bytes, which is what slabtop shows on
// 64-bit Linux from 3.x to 6.x (struct tcp_timewait_sock, about 200 bytes,
// rounded up to its cache's object size).
const TimeWaitObjectBytes = 256

// Where a TimeWaitObject's size came from.
const (
	SizeFromSlabinfo = "slabinfo" // read from /proc/slabinfo
	SizeAssumed      = "assumed"  // TimeWaitObjectBytes
)

// ErrNoSlab is returned by ParseSlabinfo when the slab asked for is not
// in the file.
var ErrNoSlab = errors.New("no such slab cache")

// Slab is one line of /proc/slabinfo: a kernel object cache.
type Slab struct {
	Name string
	// ActiveObjects are the objects in use, Objects those allocated, each
	// ObjectBytes long.
	ActiveObjects int64
	Objects       int64
	ObjectBytes   int64
}

// ParseSlabinfo finds the slab cache called name in the text of
// /proc/slabinfo (version 2.x: "name active_objs num_objs objsize ...").
func ParseSlabinfo(r io.Reader, name string) (Slab, error) {
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return Slab{}, fmt.Errorf("sockstat: read slabinfo: %w", err)
		}
		return Slab{}, errors.New("sockstat: slabinfo is empty")
	}
	if v, ok := strings.CutPrefix(sc.Text(), "slabinfo - version: "); !ok || !strings.HasPrefix(v, "2.") {
		return Slab{}, fmt.Errorf("sockstat: slabinfo begins %q: want version 2.x", cut(sc.Text(), 40))
	}
	for line := 2; sc.Scan(); line++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != name {
			continue
		}
		if len(f) < 4 {
			return Slab{}, fmt.Errorf("sockstat: slabinfo line %d: %d fields: want at least 4", line, len(f))
		}
		s := Slab{Name: name}
		for i, dst := range []*int64{&s.ActiveObjects, &s.Objects, &s.ObjectBytes} {
			n, err := strconv.ParseInt(f[i+1], 10, 64)
			if err != nil || n < 0 {
				return Slab{}, fmt.Errorf("sockstat: slabinfo line %d: field %d is %q: want a count", line, i+2, cut(f[i+1], 20))
			}
			*dst = n
		}
		if s.ObjectBytes == 0 {
			return Slab{}, fmt.Errorf("sockstat: slabinfo line %d: %s objects of 0 bytes", line, name)
		}
		return s, nil
	}
	if err := sc.Err(); err != nil {
		return Slab{}, fmt.Errorf("sockstat: read slabinfo: %w", err)
	}
	return Slab{}, fmt.Errorf("sockstat: slabinfo: %s: %w", name, ErrNoSlab)
}

func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// TimeWaitObject is the memory one TIME_WAIT socket takes in the kernel,
// and where that figure came from.
type TimeWaitObject struct {
	Slab  string `json:"slab"`
	Bytes int64  `json:"bytes"`
	// From is SizeFromSlabinfo or SizeAssumed; Reason says why the size
	// was assumed.
	From   string `json:"from"`
	Reason string `json:"reason,omitempty"`
}

// ReadTimeWaitObject returns tw_sock_TCP's object size from
// /proc/slabinfo, or, where that cannot be read (it is root's, and
// Linux's), TimeWaitObjectBytes with the reason.
func ReadTimeWaitObject() TimeWaitObject {
	s, err := ReadSlab(TimeWaitSlab)
	if err != nil {
		return TimeWaitObject{Slab: TimeWaitSlab, Bytes: TimeWaitObjectBytes, From: SizeAssumed, Reason: err.Error()}
	}
	return TimeWaitObject{Slab: TimeWaitSlab, Bytes: s.ObjectBytes, From: SizeFromSlabinfo}
}
