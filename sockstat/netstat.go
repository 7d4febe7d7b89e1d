package sockstat

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
)

// netstatConnsArgs are the arguments of the netstat run that lists the TCP
// connections when pcblist_n cannot be decoded: all of them (-a), numeric
// (-n), full IPv6 addresses (-l; without it netstat cuts an address to 16
// characters), with the -v columns, whose socket generation count tells
// TIME_WAIT sockets apart.
func netstatConnsArgs() []string { return []string{"-a", "-n", "-l", "-v", "-p", "tcp"} }

// netstatStatsArgs are the arguments of the netstat run that prints the
// TCP counters.
func netstatStatsArgs() []string { return []string{"-s", "-p", "tcp"} }

// parseNetstatConns parses the output of netstat -anlv -p tcp, or of the
// same without -v or -l, and hands each connection to fn.
//
// The rows are printed by protopr in network_cmds' netstat.tproj/inet.c:
// "%-3.3s%-2.2s %6u %6u  " (tcp, then 4, 6 or 46, the receive and send
// queues), the local and the foreign address as inetprint or inet6print
// print them, "%-11s" (the state, tcpstates[] of bsd/netinet/tcp_fsm.h),
// then with -v the columns of print_socket_stats_data in
// netstat.tproj/main.c. An address is "host.port": the host numeric or "*",
// the port numeric or "*" for 0, so "*.*" for neither; an IPv6 host keeps
// its colons ("::1.8080", "fe80::1%lo0.8080"). The -v columns end, in every
// release since network_cmds-596, with "gencnt flags flags1 usecnt rtncnt
// fltrs": the socket's generation count is the sixth field from the end, and
// the fields before it (a process name may hold spaces) are not read.
func parseNetstatConns(out []byte, fn func(*bsdConn)) error {
	withGencnt := false
	line := 0
	for len(out) > 0 {
		line++
		i := bytes.IndexByte(out, '\n')
		if i < 0 {
			// netstat ends one message without a newline.
			if bytes.HasPrefix(out, []byte("Some tcp sockets may have been")) {
				return nil
			}
			return fmt.Errorf("sockstat: netstat line %d %q: no newline: %w", line, clip(out), ErrTruncated)
		}
		l := out[:i]
		out = out[i+1:]
		switch {
		case len(bytes.TrimSpace(l)) == 0,
			bytes.HasPrefix(l, []byte("Active Internet connections")),
			bytes.HasPrefix(l, []byte("Some tcp sockets may have been")):
			continue
		case bytes.HasPrefix(l, []byte("Proto ")):
			withGencnt = bytes.Contains(l, []byte(" gencnt "))
			continue
		}
		var c bsdConn
		if err := parseNetstatRow(l, withGencnt, &c); err != nil {
			return fmt.Errorf("sockstat: netstat line %d %q: %w", line, clip(l), err)
		}
		fn(&c)
	}
	return nil
}

// parseNetstatRow parses one connection's row into c.
func parseNetstatRow(l []byte, withGencnt bool, c *bsdConn) error {
	var f [32][]byte
	n := 0
	for field := range bytes.FieldsSeq(l) {
		if n == len(f) {
			return fmt.Errorf("more than %d fields: %w", len(f), ErrUnrecognised)
		}
		f[n] = field
		n++
	}
	if n < 6 {
		return fmt.Errorf("%d fields, want at least 6: %w", n, ErrTruncated)
	}
	v6 := false
	switch string(f[0]) {
	case "tcp4", "tcp46": // netstat prints a dual-stack pcb's addresses as IPv4
	case "tcp6":
		v6 = true
	default:
		return fmt.Errorf("protocol %q, want tcp4, tcp6 or tcp46: %w", f[0], ErrUnrecognised)
	}
	for _, q := range f[1:3] {
		if _, err := strconv.ParseUint(string(q), 10, 32); err != nil {
			return fmt.Errorf("queue length %q: %w", q, ErrUnrecognised)
		}
	}
	local, err := parseBSDAddrPort(f[3], v6)
	if err != nil {
		return err
	}
	remote, err := parseBSDAddrPort(f[4], v6)
	if err != nil {
		return err
	}
	state, ok := bsdStateNamed(f[5])
	if !ok {
		return fmt.Errorf("state %q: %w", f[5], ErrUnrecognised)
	}
	*c = bsdConn{local: local, remote: remote, state: state}
	if !withGencnt {
		if n != 6 {
			return fmt.Errorf("%d fields, want 6: %w", n, ErrUnrecognised)
		}
		return nil
	}
	// The -v columns: at least rxbytes, txbytes, rhiwat, shiwat, the
	// process or pid columns, then state, options and the six read here.
	if n < 6+4+8 {
		return fmt.Errorf("%d fields, want at least 18 with -v: %w", n, ErrTruncated)
	}
	gencnt := f[n-6]
	id, err := strconv.ParseUint(string(gencnt), 16, 64)
	if len(gencnt) != 16 || err != nil {
		return fmt.Errorf("gencnt %q, want 16 hexadecimal digits: %w", gencnt, ErrUnrecognised)
	}
	for _, h := range [][]byte{f[n-8], f[n-7], f[n-5], f[n-4], f[n-1]} { // state options flags flags1 fltrs
		if _, err := strconv.ParseUint(string(h), 16, 32); err != nil {
			return fmt.Errorf("-v column %q, want hexadecimal: %w", h, ErrUnrecognised)
		}
	}
	c.id = id
	return nil
}

// parseBSDAddrPort parses an address as inetprint and inet6print print it
// with -n: "host.port".
func parseBSDAddrPort(s []byte, v6 bool) (netip.AddrPort, error) {
	i := bytes.LastIndexByte(s, '.')
	if i < 0 {
		return netip.AddrPort{}, fmt.Errorf("address %q: no port: %w", s, ErrUnrecognised)
	}
	host, port := s[:i], s[i+1:]
	var p uint64
	if string(port) != "*" {
		var err error
		if p, err = strconv.ParseUint(string(port), 10, 16); err != nil {
			return netip.AddrPort{}, fmt.Errorf("address %q: port %q: %w", s, port, ErrUnrecognised)
		}
	}
	var a netip.Addr
	switch {
	case string(host) != "*":
		var err error
		if a, err = netip.ParseAddr(string(host)); err != nil || a.Is6() != v6 {
			return netip.AddrPort{}, fmt.Errorf("address %q: host %q: %w", s, host, ErrUnrecognised)
		}
	case v6:
		a = netip.IPv6Unspecified()
	default:
		a = netip.IPv4Unspecified()
	}
	return netip.AddrPortFrom(a.Unmap().WithZone(""), uint16(p)), nil
}

// clip shortens a line for an error message.
func clip(b []byte) []byte {
	if len(b) > 120 {
		return b[:120]
	}
	return b
}

// darwinCounter maps a line of netstat -s -p tcp to a counter of the
// report. The name is Linux's where the two count the same thing, so an
// expectation reads the same on both, and otherwise xnu's struct tcpstat
// field. The format is the line's printf format in tcp_stats of network_cmds'
// netstat.tproj/inet.c, without its leading tabs and newline.
type darwinCounter struct {
	names  [2]string // a line with two numbers has two
	field  string    // struct tcpstat (bsd/netinet/tcp_var.h)
	format string
}

// darwinCounters are the counters ReadCounters reads on macOS: those that
// tell what happened to connections as they opened and closed.
func darwinCounters() []darwinCounter {
	return []darwinCounter{
		{[2]string{"ActiveOpens"}, "tcps_connattempt", "%u connection request%s"},
		{[2]string{"PassiveOpens"}, "tcps_accepts", "%u connection accept%s"},
		{[2]string{"AttemptFails"}, "tcps_conndrops", "%u embryonic connection%s dropped"},
		{[2]string{"ListenOverflows"}, "tcps_listendrop", "%u listen queue overflow%s"},
		{[2]string{"tcps_connects"}, "tcps_connects", "%u connection%s established (including accepts)"},
		{[2]string{"tcps_closed", "tcps_drops"}, "tcps_closed, tcps_drops", "%u connection%s closed (including %u drop%s)"},
		{[2]string{"tcps_badsyn"}, "tcps_badsyn", "%u bad connection attempt%s"},
		{[2]string{"tcps_timeoutdrop"}, "tcps_timeoutdrop", "%u connection%s dropped by rexmit timeout"},
		{[2]string{"tcps_rxtfindrop"}, "tcps_rxtfindrop", "%u connection%s dropped after retransmitting FIN"},
		{[2]string{"tcps_keepdrops"}, "tcps_keepdrops", "%u connection%s dropped by keepalive"},
		{[2]string{"tcps_fin_timeout_drops"}, "tcps_fin_timeout_drops", "%u FIN_WAIT timeout drop%s"},
		{[2]string{"tcps_rcvafterclose"}, "tcps_rcvafterclose", "%u packet%s received after close"},
		{[2]string{"tcps_badrst"}, "tcps_badrst", "%u bad reset%s"},
		{[2]string{"tcps_pawsdrop"}, "tcps_pawsdrop", "%u old duplicate packet%s"},
	}
}

// parseNetstatStats parses the output of netstat -s -p tcp: a "tcp:" line,
// then lines of tabs, a number and its meaning. It returns the counters of
// darwinCounters that the output has; a line it does not map is skipped, but
// must still be a number and its meaning.
func parseNetstatStats(out []byte) (Counters, error) {
	if !bytes.HasPrefix(out, []byte("tcp:\n")) {
		return nil, fmt.Errorf("sockstat: netstat -s: output does not begin with \"tcp:\": %w", ErrUnrecognised)
	}
	if !bytes.HasSuffix(out, []byte("\n")) {
		return nil, fmt.Errorf("sockstat: netstat -s: last line has no newline: %w", ErrTruncated)
	}
	body := out[len("tcp:\n"):]
	if len(body) == 0 {
		return nil, fmt.Errorf("sockstat: netstat -s: no counters after \"tcp:\": %w", ErrUnrecognised)
	}
	table := darwinCounters()
	c := make(Counters, len(table)+1)
	line := 1
	for l := range bytes.SplitSeq(body[:len(body)-1], []byte("\n")) {
		line++
		text := bytes.TrimLeft(l, "\t")
		if len(text) == len(l) || len(text) == 0 || text[0] < '0' || text[0] > '9' {
			return nil, fmt.Errorf("sockstat: netstat -s line %d %q: want tabs, a number and its meaning: %w", line, clip(l), ErrUnrecognised)
		}
		for _, dc := range table {
			nums, ok := matchStatFormat(text, dc.format)
			if !ok {
				continue
			}
			for i, name := range dc.names {
				if name == "" {
					continue
				}
				if _, dup := c[name]; dup {
					return nil, fmt.Errorf("sockstat: netstat -s line %d: %s a second time: %w", line, name, ErrUnrecognised)
				}
				c[name] = nums[i]
			}
			break
		}
	}
	if len(c) == 0 {
		return nil, fmt.Errorf("sockstat: netstat -s: none of the TCP counters read: %w", ErrUnrecognised)
	}
	return c, nil
}

// matchStatFormat matches text against a tcp_stats format in which %u is
// a number and %s the plural ending of the number before it. It returns
// the numbers.
func matchStatFormat(text []byte, format string) (nums [2]int64, ok bool) {
	n := 0
	for len(format) > 0 {
		switch {
		case len(format) >= 2 && format[:2] == "%u":
			j := 0
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			v, err := strconv.ParseInt(string(text[:j]), 10, 64)
			if err != nil || n == len(nums) {
				return nums, false
			}
			nums[n] = v
			n++
			text, format = text[j:], format[2:]
		case len(format) >= 2 && format[:2] == "%s":
			// netstat's plural(int n) is "s" when n > 1, the number before
			// it taken as an int: "" for 0 and 1.
			if n > 0 && int32(uint32(nums[n-1])) > 1 {
				if len(text) == 0 || text[0] != 's' {
					return nums, false
				}
				text = text[1:]
			}
			format = format[2:]
		default:
			if len(text) == 0 || text[0] != format[0] {
				return nums, false
			}
			text, format = text[1:], format[1:]
		}
	}
	return nums, len(text) == 0
}
