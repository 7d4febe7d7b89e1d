package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
)

// rtnetlink's numbers, from linux/rtnetlink.h, linux/if_link.h and
// linux/veth.h. They are Linux's ABI, fixed; the encoder and decoder here
// are pure, so that they are tested on any system.
const (
	nlmsgHdrLen    = 16
	ifinfomsgLen   = 16
	rtmNewLink     = 16
	nlmsgError     = 2
	nlmFRequest    = 0x1
	nlmFAck        = 0x4
	nlmFExcl       = 0x200
	nlmFCreate     = 0x400
	iflaIfname     = 3
	iflaLinkinfo   = 18
	iflaNetNsFd    = 28
	iflaInfoKind   = 1
	iflaInfoData   = 2
	vethInfoPeer   = 1
	maxIfnameBytes = 15 // IFNAMSIZ less its NUL
)

// newVethRequest returns the RTM_NEWLINK request `ip link add NAME type veth
// peer name PEER netns FD` sends: a veth pair whose first end, name, is
// made in the namespace of the netlink socket the request is sent on, and
// whose peer is made in the namespace open as nsFD.
func newVethRequest(seq uint32, name, peer string, nsFD int) ([]byte, error) {
	for _, n := range []string{name, peer} {
		if n == "" || len(n) > maxIfnameBytes {
			return nil, fmt.Errorf("netns: interface name %q: want 1 to %d bytes", n, maxIfnameBytes)
		}
	}
	fd := make([]byte, 4)
	binary.NativeEndian.PutUint32(fd, uint32(nsFD))
	peerInfo := append(make([]byte, ifinfomsgLen), attr(iflaIfname, cString(peer))...)
	peerInfo = append(peerInfo, attr(iflaNetNsFd, fd)...)
	linkinfo := append(attr(iflaInfoKind, []byte("veth")), attr(iflaInfoData, attr(vethInfoPeer, peerInfo))...)

	body := append(make([]byte, ifinfomsgLen), attr(iflaIfname, cString(name))...)
	body = append(body, attr(iflaLinkinfo, linkinfo)...)
	msg := make([]byte, nlmsgHdrLen, nlmsgHdrLen+len(body))
	binary.NativeEndian.PutUint32(msg[0:4], uint32(nlmsgHdrLen+len(body)))
	binary.NativeEndian.PutUint16(msg[4:6], rtmNewLink)
	binary.NativeEndian.PutUint16(msg[6:8], nlmFRequest|nlmFAck|nlmFCreate|nlmFExcl)
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	return append(msg, body...), nil
}

// attr returns a route attribute: its length and type, the data, and
// padding to four bytes. A nested attribute is one whose data is
// attributes (rtnetlink reads these without NLA_F_NESTED, as iproute2
// sends them).
func attr(typ uint16, data []byte) []byte {
	n := 4 + len(data)
	b := make([]byte, 4, (n+3)&^3)
	binary.NativeEndian.PutUint16(b[0:2], uint16(n))
	binary.NativeEndian.PutUint16(b[2:4], typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func cString(s string) []byte { return append([]byte(s), 0) }

// errTruncated is an answer shorter than its header says.
var errTruncated = errors.New("netns: netlink answer truncated")

// parseAck reads the kernel's answer to a request with sequence number
// seq: nil for an acknowledgement, the errno it carries for a refusal.
// Messages of other sequence numbers are skipped; done is false when the
// answer was not among them.
func parseAck(b []byte, seq uint32) (done bool, err error) {
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return false, errTruncated
		}
		n := int(binary.NativeEndian.Uint32(b[0:4]))
		if n < nlmsgHdrLen || n > len(b) {
			return false, errTruncated
		}
		typ := binary.NativeEndian.Uint16(b[4:6])
		if typ == nlmsgError && binary.NativeEndian.Uint32(b[8:12]) == seq {
			if n < nlmsgHdrLen+4 {
				return false, errTruncated
			}
			if code := int32(binary.NativeEndian.Uint32(b[16:20])); code != 0 {
				return true, syscall.Errno(-code)
			}
			return true, nil
		}
		next := (n + 3) &^ 3
		if next >= len(b) {
			break
		}
		b = b[next:]
	}
	return false, nil
}
