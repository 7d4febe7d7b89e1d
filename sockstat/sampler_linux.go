package sockstat

import (
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// readBufLen is the netlink read buffer. The kernel fills at most about
// 32 KiB per read of a dump (netlink_recvmsg caps the skb netlink_dump
// allocates at 32 KiB less its overhead), and a larger buffer only costs
// memory. On Linux 6.18 a dump of 110k TIME_WAIT sockets took 386 reads of
// 32448 bytes with this buffer, with 1 MiB, and with SO_RCVBUF at 4 MiB
// alike; an 8 KiB buffer took 1530.
const readBufLen = 32 << 10

// Sampler reads the socket states of one address and port's two ends. It
// holds a netlink socket and its buffers; it is not safe for concurrent use.
type Sampler struct {
	port    uint16
	filter  []byte
	fd      int
	kind    requestKind
	seq     uint32
	req     []byte
	buf     []byte
	clock   time.Time
	tw      *timeWaitTracker
	sources [][16]byte
	closed  bool
	// holders count the last sample's TIME_WAIT sockets by address, for
	// the client end and the server end.
	holders [2]*addrTable
	// in, if set, runs a function in the namespace the sampler samples
	// (NewSamplerIn), where its socket is opened again after a failure.
	in func(func() error) error
}

// SplitBySource makes each sample count the client end's sockets by local
// address too, for each of addrs (Sample.BySource).
func (s *Sampler) SplitBySource(addrs []netip.Addr) {
	s.sources = s.sources[:0]
	for _, a := range addrs {
		s.sources = append(s.sources, a.Unmap().As16())
	}
}

// NewSampler opens a NETLINK_SOCK_DIAG socket for sampling the two ends of
// target: the server end, sockets whose local address and port are the
// target's, and the client end, sockets whose remote address and port are.
// An unspecified address (0.0.0.0, ::) matches the port alone. It needs no
// privileges.
func NewSampler(target netip.AddrPort) (*Sampler, error) {
	if target.Port() == 0 {
		return nil, errors.New("sockstat: port 0 cannot be sampled")
	}
	fd, err := openDiag()
	if err != nil {
		return nil, err
	}
	return &Sampler{
		port:    target.Port(),
		filter:  filterBytecode(target),
		fd:      fd,
		req:     make([]byte, 0, 128),
		buf:     make([]byte, readBufLen),
		clock:   time.Now(),
		tw:      newTimeWaitTracker(timeWaitBandMs),
		holders: [2]*addrTable{newAddrTable(), newAddrTable()},
	}, nil
}

// Holders returns the addresses that held each end's TIME_WAIT sockets in
// the last sample Sample took; they are zero before the first, and after
// a sample that failed.
func (s *Sampler) Holders() (client, server TimeWaitHolders) {
	return s.holders[0].holders(), s.holders[1].holders()
}

// openDiag opens the NETLINK_SOCK_DIAG socket without CAP_NET_ADMIN. For
// a reader whose socket was opened with CAP_NET_ADMIN the kernel adds an
// INET_DIAG_MARK attribute to every socket's message (a TIME_WAIT socket's
// grows from 88 bytes to 96), and the sampler has no use for marks. A
// thread's capabilities are its own, so the calling thread drops the
// capability for the open and takes it back after: the socket is opened
// in the caller's network namespace, as before.
func openDiag() (int, error) {
	runtime.LockOSThread()
	restore, dropped := dropNetAdmin()
	fd, err := openDiagSocket()
	if !dropped || restore() == nil {
		runtime.UnlockOSThread()
	}
	// Else the thread lacks a capability the process has: it stays
	// locked to this goroutine, and ends with it.
	return fd, err
}

// dropNetAdmin removes CAP_NET_ADMIN from the calling thread's effective
// capabilities, if it has it, and returns how to put it back. Where it
// cannot, the socket gets marks, which cost time, not correctness.
func dropNetAdmin() (restore func() error, dropped bool) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var caps [2]unix.CapUserData // version 3 reads and writes two
	if unix.Capget(&hdr, &caps[0]) != nil || caps[0].Effective&(1<<unix.CAP_NET_ADMIN) == 0 {
		return nil, false
	}
	had := caps
	caps[0].Effective &^= 1 << unix.CAP_NET_ADMIN
	if unix.Capset(&hdr, &caps[0]) != nil {
		return nil, false
	}
	return func() error { return unix.Capset(&hdr, &had[0]) }, true
}

func openDiagSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return -1, fmt.Errorf("sockstat: open NETLINK_SOCK_DIAG socket: %w", err)
	}
	// The kernel answers at once; the timeout only keeps a broken kernel
	// from hanging a run.
	tv := unix.Timeval{Sec: 5}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("sockstat: set netlink receive timeout: %w", err)
	}
	return fd, nil
}

// timeWaitBandMs is the window around the previous sample's latest
// TIME_WAIT expiry in which sockets are told apart by cookie: more than the
// jiffy (up to 10 ms) plus the walk of a large socket table.
const timeWaitBandMs = 100

// reopen opens the sampler's socket again, in its namespace.
func (s *Sampler) reopen() (fd int, err error) {
	if s.in == nil {
		return openDiag()
	}
	ierr := s.in(func() error {
		fd, err = openDiag()
		return nil
	})
	if ierr != nil {
		return -1, ierr
	}
	return fd, err
}

func (s *Sampler) setIn(in func(func() error) error) { s.in = in }

// Notes say what the report should know about how the sampler sampled;
// on Linux there is nothing to say.
func (s *Sampler) Notes() []string { return nil }

// Close releases the netlink socket.
func (s *Sampler) Close() error {
	s.closed = true
	if s.fd < 0 {
		return nil
	}
	err := unix.Close(s.fd)
	s.fd = -1
	return err
}

// Sample takes one sample. Kernels without the legacy request (it has been
// there since 2.6) get one SOCK_DIAG_BY_FAMILY dump per address family.
func (s *Sampler) Sample() (Sample, error) {
	if s.closed {
		return Sample{}, errors.New("sockstat: sampler is closed")
	}
	if s.fd < 0 {
		fd, err := s.reopen()
		if err != nil {
			return Sample{}, err
		}
		s.fd = fd
	}
	smp, err := s.sample()
	if err != nil {
		// The kernel goes on with a dump that was not read to its end and
		// answers the next request with EBUSY: start afresh.
		s.tw.discard()
		s.holders[0].reset()
		s.holders[1].reset()
		unix.Close(s.fd)
		s.fd = -1
	}
	return smp, err
}

func (s *Sampler) sample() (Sample, error) {
	at := time.Now()
	t := s.newTally(at.Sub(s.clock).Milliseconds())
	if s.kind == legacyRequest {
		err := s.dump(&t, legacyRequest, 0)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
			s.kind = familyRequest
			t = s.newTally(t.at)
		} else if err != nil {
			return Sample{}, err
		}
	}
	if s.kind == familyRequest {
		for _, family := range []uint8{afInet, afInet6} {
			if err := s.dump(&t, familyRequest, family); err != nil {
				return Sample{}, err
			}
		}
	}
	s.tw.finish()
	return Sample{
		At:                at,
		Cost:              time.Since(at),
		Client:            t.client,
		Server:            t.server,
		BySource:          t.bySource,
		ClientNewTimeWait: t.clientNewTW,
		ServerNewTimeWait: t.serverNewTW,
		MaxTimeWaitLeft:   time.Duration(t.maxTWLeftMs) * time.Millisecond,
	}, nil
}

func (s *Sampler) newTally(at int64) tally {
	s.holders[0].reset()
	s.holders[1].reset()
	t := tally{port: s.port, at: at, tw: s.tw, sources: s.sources,
		clientHolders: s.holders[0], serverHolders: s.holders[1]}
	if len(s.sources) > 0 {
		t.bySource = make([]Counts, len(s.sources))
	}
	return t
}

// dump sends one dump request and reads its answer into t.
func (s *Sampler) dump(t *tally, kind requestKind, family uint8) error {
	s.seq++
	s.req = appendDumpRequest(s.req[:0], kind, family, s.seq, s.filter, connStateMask)
	if _, err := unix.Write(s.fd, s.req); err != nil {
		return fmt.Errorf("sockstat: send inet_diag request: %w", err)
	}
	for {
		n, err := unix.Read(s.fd, s.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("sockstat: read inet_diag dump: %w", err)
		}
		done, err := t.parse(s.buf[:n], s.seq)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}
