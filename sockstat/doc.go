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
// (IsLocalAddr). On other systems NewSampler returns an error wrapping
// errors.ErrUnsupported.
//
// It is the kernel side only: package agent serves these samples over HTTP.
package sockstat
