package sockstat

import (
	"encoding/binary"
	"net/netip"
)

// TopHolders is how many addresses a sample names for each end's TIME_WAIT
// sockets.
const TopHolders = 8

// MaxHolderAddrs bounds the distinct addresses a sample counts for each
// end: the TIME_WAIT sockets of any further address are counted as
// Untracked. A sample's walk then costs a table lookup per TIME_WAIT
// socket, and no allocation, however many clients a server has.
const MaxHolderAddrs = 512

// holderSlots is the size of the address table, a power of two with room
// for MaxHolderAddrs at half load.
const holderSlots = 2 * MaxHolderAddrs

// AddrCount is an address and the TIME_WAIT sockets it has at an end.
type AddrCount struct {
	Addr  netip.Addr
	Count uint32
}

// TimeWaitHolders are the addresses that hold an end's TIME_WAIT sockets
// in one sample, most first: on the server end the sockets' remote
// addresses (the clients), on the client end their local addresses (the
// source addresses, whose ports the TIME_WAIT holds).
type TimeWaitHolders struct {
	// Top holds the TopHolders addresses with the most TIME_WAIT sockets,
	// most first, ties by address; entries after the last have Count 0.
	Top [TopHolders]AddrCount
	// Addrs is the number of distinct addresses counted, at most
	// MaxHolderAddrs.
	Addrs int
	// Untracked counts the TIME_WAIT sockets of addresses past
	// MaxHolderAddrs, which are in no count of Top.
	Untracked uint32
}

// holderSlot is one entry of an addrTable.
type holderSlot struct {
	addr  [16]byte // IPv6, or IPv4-mapped
	count uint32
	used  bool
}

// addrTable counts sockets by address in a fixed open-addressing table:
// no allocation per socket or per sample, and a bounded number of
// addresses.
type addrTable struct {
	slots     [holderSlots]holderSlot
	used      []uint16 // the slots in use, to clear and to scan
	untracked uint32
}

func newAddrTable() *addrTable {
	return &addrTable{used: make([]uint16, 0, MaxHolderAddrs)}
}

// reset empties the table for the next sample.
func (t *addrTable) reset() {
	for _, i := range t.used {
		t.slots[i] = holderSlot{}
	}
	t.used = t.used[:0]
	t.untracked = 0
}

// add counts one socket of addr.
func (t *addrTable) add(addr *[16]byte) {
	h := holderHash(addr)
	for {
		s := &t.slots[h]
		if !s.used {
			if len(t.used) == MaxHolderAddrs {
				t.untracked++
				return
			}
			*s = holderSlot{addr: *addr, count: 1, used: true}
			t.used = append(t.used, uint16(h))
			return
		}
		if s.addr == *addr {
			s.count++
			return
		}
		h = (h + 1) & (holderSlots - 1)
	}
}

// holderHash spreads an address over the table: Fibonacci hashing of its
// two halves folded together.
func holderHash(a *[16]byte) uint32 {
	x := binary.LittleEndian.Uint64(a[0:]) ^ binary.LittleEndian.Uint64(a[8:])*0x9e3779b97f4a7c15
	return uint32((x * 0x9e3779b97f4a7c15) >> (64 - 10)) // 10 bits: holderSlots
}

// holders returns the table's top addresses.
func (t *addrTable) holders() TimeWaitHolders {
	h := TimeWaitHolders{Addrs: len(t.used), Untracked: t.untracked}
	n := 0 // entries of h.Top in use
	for _, i := range t.used {
		s := &t.slots[i]
		c := AddrCount{Addr: netip.AddrFrom16(s.addr).Unmap(), Count: s.count}
		// Insert c into the sorted top, if it belongs there.
		j := n
		for j > 0 && holderBefore(c, h.Top[j-1]) {
			j--
		}
		if j == TopHolders {
			continue
		}
		if n < TopHolders {
			n++
		}
		copy(h.Top[j+1:n], h.Top[j:n-1])
		h.Top[j] = c
	}
	return h
}

// holderBefore orders holders by count, most first, then by address.
func holderBefore(a, b AddrCount) bool {
	if a.Count != b.Count {
		return a.Count > b.Count
	}
	return a.Addr.Less(b.Addr)
}

// addrAt returns the address at m[off:] of an inet_diag_msg of family as
// 16 bytes: IPv4 addresses mapped into IPv6, so that a dual-stack socket's
// ::ffff:127.0.0.1 and an IPv4 socket's 127.0.0.1 are one address.
func addrAt(m []byte, family uint8, off int) (a [16]byte, ok bool) {
	switch family {
	case afInet:
		a[10], a[11] = 0xff, 0xff
		copy(a[12:], m[off:off+4])
		return a, true
	case afInet6:
		return [16]byte(m[off : off+16]), true
	}
	return a, false
}
