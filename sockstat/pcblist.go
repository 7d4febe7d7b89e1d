package sockstat

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// The layout of the sysctl net.inet.tcp.pcblist_n, as xnu writes it
// (get_pcblist_n in bsd/netinet/in_pcblist.c) and netstat reads it (protopr
// in network_cmds' netstat.tproj/inet.c): a struct xinpgen, then for each
// connection six structures, each starting with its length and its kind and
// padded to a multiple of 8 bytes (ROUNDUP64), then a second struct xinpgen.
// Every structure is declared under #pragma pack(4), and both of macOS's
// architectures (arm64, x86-64) are little-endian; ports and addresses are
// in network order.
//
// The lengths are those of every xnu since macOS 12 (xnu-8019), the oldest
// release Go supports, to macOS 15 (xnu-11417): xinpcb_n has not changed
// since xnu-2782, xtcpcb_n since xnu-2422, and xsocket_n grew from 76 to 104
// bytes in xnu-8792 (macOS 13). A length the decoder does not know is
// refused (ErrUnrecognised), not guessed at.
const (
	xinpgenLen = 24 // struct xinpgen: xig_len, xig_count, xig_gen, xig_sogen

	xsoSocket = 0x001 // XSO_* kinds, bsd/sys/socketvar.h
	xsoRcvbuf = 0x002
	xsoSndbuf = 0x004
	xsoStats  = 0x008
	xsoInpcb  = 0x010
	xsoTcpcb  = 0x020

	// struct xinpcb_n (bsd/netinet/in_pcb.h): the offsets read.
	xinpcbLen     = 104
	xinpcbFport   = 16 // inp_fport
	xinpcbLport   = 18 // inp_lport
	xinpcbGencnt  = 28 // inp_gencnt, u_quad_t
	xinpcbVflag   = 44 // inp_vflag
	xinpcbFaddr   = 48 // inp_dependfaddr: in6_addr, or in_addr_4in6 with the IPv4 address last
	xinpcbLaddr   = 64 // inp_dependladdr
	inpIPv4       = 0x1
	inpIPv6       = 0x2
	xsocketProto  = 36 // xso_protocol in struct xsocket_n (bsd/sys/socketvar.h)
	xtcpcbLen     = 204
	xtcpcbState   = 36 // t_state in struct xtcpcb_n (bsd/netinet/tcp_var.h)
	ipprotoTCPBSD = 6
	xsocketLen12  = 76  // struct xsocket_n to xnu-8020 (macOS 12)
	xsocketLen    = 104 // from xnu-8792 (macOS 13): so_gencnt to xso_filter_flags added
	xsockbufLen   = 32  // struct xsockbuf_n
	xsockstatLen  = 136 // struct xsockstat_n: 4 × struct data_stats
)

// pcbItem is one of the structures of a connection in pcblist_n.
type pcbItem struct {
	kind uint32
	name string
	lens [2]uint32 // the lengths the decoder knows; 0: no other
}

// pcbItems are the structures of one connection, in the order
// get_pcblist_n writes them.
func pcbItems() [6]pcbItem {
	return [6]pcbItem{
		{xsoInpcb, "xinpcb_n", [2]uint32{xinpcbLen}},
		{xsoSocket, "xsocket_n", [2]uint32{xsocketLen, xsocketLen12}},
		{xsoRcvbuf, "xsockbuf_n (receive)", [2]uint32{xsockbufLen}},
		{xsoSndbuf, "xsockbuf_n (send)", [2]uint32{xsockbufLen}},
		{xsoStats, "xsockstat_n", [2]uint32{xsockstatLen}},
		{xsoTcpcb, "xtcpcb_n", [2]uint32{xtcpcbLen}},
	}
}

func roundUp64(n uint32) int { return int((uint64(n) + 7) &^ 7) }

// decodePCBList decodes a net.inet.tcp.pcblist_n buffer and hands each
// TCP connection to fn. It reads the buffer in place and allocates
// nothing. It refuses, with an error wrapping ErrUnrecognised or
// ErrTruncated, anything that is not exactly the layout above.
func decodePCBList(b []byte, fn func(*bsdConn)) error {
	le := binary.LittleEndian
	if len(b) < xinpgenLen {
		return fmt.Errorf("sockstat: pcblist_n of %d bytes, shorter than its struct xinpgen: %w", len(b), ErrTruncated)
	}
	if n := le.Uint32(b); n != xinpgenLen {
		return fmt.Errorf("sockstat: pcblist_n: struct xinpgen of %d bytes, want %d: %w", n, xinpgenLen, ErrUnrecognised)
	}
	count, gen := le.Uint32(b[4:]), le.Uint64(b[8:])
	if len(b) == xinpgenLen {
		// With no connections the kernel writes the first xinpgen alone.
		if count != 0 {
			return fmt.Errorf("sockstat: pcblist_n: %d connections announced, none listed: %w", count, ErrTruncated)
		}
		return nil
	}
	var c bsdConn
	for off := xinpgenLen; ; {
		if len(b)-off < 8 {
			return fmt.Errorf("sockstat: pcblist_n: %d bytes at byte %d, want a structure or the closing xinpgen: %w",
				len(b)-off, off, ErrTruncated)
		}
		if le.Uint32(b[off:]) == xinpgenLen {
			switch rest := len(b) - off; {
			case rest < xinpgenLen:
				return fmt.Errorf("sockstat: pcblist_n: closing xinpgen of %d bytes: %w", rest, ErrTruncated)
			case rest > xinpgenLen:
				return fmt.Errorf("sockstat: pcblist_n: %d bytes after the closing xinpgen: %w", rest-xinpgenLen, ErrUnrecognised)
			}
			return nil
		}
		next, keep, err := decodePCB(b, off, &c)
		if err != nil {
			return err
		}
		// netstat skips pcbs freed and reallocated while the list was
		// copied out; the kernel has already left them out.
		if keep && c.id <= gen {
			fn(&c)
		}
		off = next
	}
}

// decodePCB decodes the six structures of one connection at off into c,
// and returns the offset after them. keep is false for a connection that
// is not TCP, or of an address family netstat does not print.
func decodePCB(b []byte, off int, c *bsdConn) (next int, keep bool, err error) {
	le := binary.LittleEndian
	items := pcbItems()
	var at [len(items)]int
	for i, it := range items {
		if len(b)-off < 8 {
			return 0, false, fmt.Errorf("sockstat: pcblist_n: %s at byte %d: %d bytes left: %w", it.name, off, len(b)-off, ErrTruncated)
		}
		n, kind := le.Uint32(b[off:]), le.Uint32(b[off+4:])
		if kind != it.kind {
			return 0, false, fmt.Errorf("sockstat: pcblist_n: structure of kind %#x at byte %d, want %s (%#x): %w",
				kind, off, it.name, it.kind, ErrUnrecognised)
		}
		if n != it.lens[0] && (it.lens[1] == 0 || n != it.lens[1]) {
			return 0, false, fmt.Errorf("sockstat: pcblist_n: %s of %d bytes at byte %d, a layout this twbench does not know: %w",
				it.name, n, off, ErrUnrecognised)
		}
		if len(b)-off < roundUp64(n) {
			return 0, false, fmt.Errorf("sockstat: pcblist_n: %s of %d bytes at byte %d: %d bytes left: %w",
				it.name, n, off, len(b)-off, ErrTruncated)
		}
		at[i] = off
		off += roundUp64(n)
	}
	inp, so, tp := b[at[0]:at[0]+xinpcbLen], b[at[1]:at[1]+xsocketLen12], b[at[5]:at[5]+xtcpcbLen]

	st := int32(le.Uint32(tp[xtcpcbState:]))
	state, ok := bsdState(st)
	if !ok {
		return 0, false, fmt.Errorf("sockstat: pcblist_n: TCP state %d at byte %d: %w", st, at[5]+xtcpcbState, ErrUnrecognised)
	}
	if le.Uint32(so[xsocketProto:]) != ipprotoTCPBSD {
		return off, false, nil
	}
	lport := binary.BigEndian.Uint16(inp[xinpcbLport:])
	fport := binary.BigEndian.Uint16(inp[xinpcbFport:])
	var laddr, faddr netip.Addr
	switch vflag := inp[xinpcbVflag]; {
	case vflag&inpIPv4 != 0: // as netstat: an IPv4 or dual-stack pcb's address is IPv4
		laddr = netip.AddrFrom4([4]byte(inp[xinpcbLaddr+12 : xinpcbLaddr+16]))
		faddr = netip.AddrFrom4([4]byte(inp[xinpcbFaddr+12 : xinpcbFaddr+16]))
	case vflag&inpIPv6 != 0:
		laddr = in6Addr([16]byte(inp[xinpcbLaddr : xinpcbLaddr+16]))
		faddr = in6Addr([16]byte(inp[xinpcbFaddr : xinpcbFaddr+16]))
	default:
		return off, false, nil
	}
	*c = bsdConn{
		local:  netip.AddrPortFrom(laddr, lport),
		remote: netip.AddrPortFrom(faddr, fport),
		state:  state,
		id:     le.Uint64(inp[xinpcbGencnt:]),
	}
	return off, true, nil
}

// in6Addr is an IPv6 address of a pcb, unmapped. xnu keeps a link-local
// address's scope in its third and fourth bytes (KAME's embedded scope);
// netstat's inet6name clears them, and so does this.
func in6Addr(b [16]byte) netip.Addr {
	if b[0] == 0xfe && b[1]&0xc0 == 0x80 || b[0] == 0xff && (b[1]&0x0f == 0x01 || b[1]&0x0f == 0x02) {
		b[2], b[3] = 0, 0
	}
	return netip.AddrFrom16(b).Unmap()
}
