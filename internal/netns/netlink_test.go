package netns

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"syscall"
	"testing"
)

// ne16 and ne32 write v in the machine's byte order, as the kernel reads it.
func ne16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func ne32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// The request `ip link add a0 type veth peer name b0 netns 7` sends, built
// by hand: header, ifinfomsg, IFLA_IFNAME "a0\0" (7 bytes, padded to 8),
// IFLA_LINKINFO { IFLA_INFO_KIND "veth", IFLA_INFO_DATA { VETH_INFO_PEER {
// ifinfomsg, IFLA_IFNAME "b0\0", IFLA_NET_NS_FD 7 } } }.
func TestNewVethRequest(t *testing.T) {
	ifinfo := make([]byte, 16)
	peer := cat(ne16(4+16+8+8), ne16(1), ifinfo,
		ne16(7), ne16(3), []byte("b0\x00\x00"),
		ne16(8), ne16(28), ne32(7))
	data := cat(ne16(uint16(4+len(peer))), ne16(2), peer)
	linkinfo := cat(ne16(8), ne16(1), []byte("veth"), data)
	body := cat(ifinfo, ne16(7), ne16(3), []byte("a0\x00\x00"), ne16(uint16(4+len(linkinfo))), ne16(18), linkinfo)
	want := cat(ne32(uint32(16+len(body))), ne16(16), ne16(0x1|0x4|0x400|0x200), ne32(42), ne32(0), body)

	got, err := newVethRequest(42, "a0", "b0", 7)
	if err != nil {
		t.Fatalf("newVethRequest error = %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("newVethRequest(42, a0, b0, 7) =\n% x\nwant\n% x", got, want)
	}
	if len(got)%4 != 0 {
		t.Errorf("request of %d bytes; want a multiple of 4", len(got))
	}
}

func TestNewVethRequestNames(t *testing.T) {
	for _, names := range [][2]string{{"", "b"}, {"a", strings.Repeat("x", 16)}} {
		if _, err := newVethRequest(1, names[0], names[1], 3); err == nil {
			t.Errorf("newVethRequest(%q, %q): no error; want one (1 to 15 bytes)", names[0], names[1])
		}
	}
	if _, err := newVethRequest(1, "a", strings.Repeat("x", 15), 3); err != nil {
		t.Errorf("a 15-byte name: %v; want none", err)
	}
}

// nlerr is an NLMSG_ERROR answer to seq carrying code (0 for an ack).
func nlerr(seq uint32, code int32) []byte {
	return cat(ne32(36), ne16(2), ne16(0), ne32(seq), ne32(0), ne32(uint32(code)), make([]byte, 16))
}

func TestParseAck(t *testing.T) {
	other := cat(ne32(20), ne16(3), ne16(0), ne32(9), ne32(0), make([]byte, 4)) // NLMSG_DONE of another request
	for _, tc := range []struct {
		name    string
		in      []byte
		done    bool
		wantErr error
	}{
		{"ack", nlerr(5, 0), true, nil},
		{"refused", nlerr(5, -int32(syscall.EPERM)), true, syscall.EPERM},
		{"exists", nlerr(5, -int32(syscall.EEXIST)), true, syscall.EEXIST},
		{"another request's first", cat(other, nlerr(5, 0)), true, nil},
		{"another request's only", nlerr(6, 0), false, nil},
		{"empty", nil, false, nil},
		{"short header", []byte{1, 2, 3}, false, errTruncated},
		{"length past the end", cat(ne32(64), ne16(2), ne16(0), ne32(5), ne32(0)), false, errTruncated},
		{"error without its code", cat(ne32(16), ne16(2), ne16(0), ne32(5), ne32(0)), false, errTruncated},
	} {
		done, err := parseAck(tc.in, 5)
		if done != tc.done || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%s: parseAck = %v, %v; want %v, %v", tc.name, done, err, tc.done, tc.wantErr)
		}
	}
}

func TestExplain(t *testing.T) {
	settings := func(kv ...string) func(string) string {
		return func(name string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == name {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name   string
		err    error
		userns bool
		read   func(string) string
		want   string
	}{
		{"apparmor", syscall.EPERM, true, settings("kernel.apparmor_restrict_unprivileged_userns", "1", "user.max_user_namespaces", "1000"),
			"kernel.apparmor_restrict_unprivileged_userns=1"},
		{"debian", syscall.EPERM, true, settings("kernel.unprivileged_userns_clone", "0"), "kernel.unprivileged_userns_clone=1"},
		{"none allowed", syscall.ENOSPC, true, settings("user.max_user_namespaces", "0"), "user.max_user_namespaces above 0"},
		{"limit reached", syscall.ENOSPC, true, settings("user.max_user_namespaces", "20"), "user.max_user_namespaces=20"},
		{"no userns in the kernel", syscall.EINVAL, true, settings(), "CONFIG_USER_NS"},
		{"a container", syscall.EPERM, true, settings("user.max_user_namespaces", "1000"), "seccomp"},
		{"root refused", syscall.EPERM, false, settings(), "although twbench runs with CAP_SYS_ADMIN"},
	} {
		got := explain(tc.err, tc.userns, tc.read)
		if !strings.Contains(got, tc.want) || strings.Contains(got, "\n") {
			t.Errorf("%s: explain = %q; want one line with %q", tc.name, got, tc.want)
		}
	}
}
