// Package sockstat samples the TCP socket states of both ends of a port:
// the client end (sockets whose remote port is the target's) and the server
// end (sockets whose local port is the target's).
//
// On Linux a sample is one NETLINK_SOCK_DIAG dump with the state mask and a
// port filter evaluated in the kernel, read into a reused buffer without an
// allocation per socket. The kernel's own TIME_WAIT timers give the measured
// TIME_WAIT length and tell which TIME_WAIT sockets are new since the
// previous sample, and a bounded table counts each end's TIME_WAIT sockets
// by address (Sampler.Holders). The package also reads the host's TCP settings and the
// namespace's TcpExt counters, and says whether an address is this host's
// (IsLocalAddr).
//
// On macOS a sample is one read of the sysctl net.inet.tcp.pcblist_n, the
// list of every TCP connection that netstat itself reads, decoded in Go and
// filtered by the same rules as on Linux. That list was chosen over parsing
// netstat's output because it costs no process per sample, its addresses
// are whole (netstat cuts IPv6 addresses short without -l), and each pcb
// carries a generation count that tells new TIME_WAIT sockets apart. Its
// structures are private to Apple, so the decoder knows the lengths of each
// macOS from 12 to 15, refuses anything else (ErrUnrecognised,
// ErrTruncated), and the sampler then falls back to netstat -anlv -p tcp.
// xnu's TIME_WAIT sockets carry no time left, so the TIME_WAIT length there
// is twice net.inet.tcp.msl (Host.TimeWaitSetting); the ports are
// net.inet.ip.portrange.first to .last; the counters are those netstat -s
// -p tcp prints. The decoders are plain Go, tested on every system against
// fixtures built from Apple's sources (testdata/darwin); only the sysctl
// reads and netstat runs are darwin's. This support has not been run on a
// Mac.
//
// On other systems NewSampler returns an error wrapping
// errors.ErrUnsupported.
//
// It is the kernel side only: package agent serves these samples over HTTP.
package sockstat
