package loadgen

import (
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"
)

// haveEventLoop: Linux has the event-loop client.
const haveEventLoop = true

// Event data for the loop's own descriptors; a slot's is its index.
const (
	wakeEvent  = -1 // the wake-up eventfd
	timerEvent = -2 // the timerfd
)

// loop is one event loop of the event-loop client: an epoll instance
// driving its share of the run's connections (slots), every socket
// non-blocking and edge-triggered. It owns its slots, its tally and its
// histograms: nothing on its path takes a lock or is shared with another
// loop, but for the claim of a closed-loop request when the run has a
// request count, and the turn of source addresses.
//
// The loop waits parked in Go's netpoller, where its epoll descriptor is
// registered like a socket's, so that the goroutines of the process (a
// built-in target's, the sampler's) and the loop share the processors as
// Go's scheduler has them, with no thread blocked in a system call. Its
// times (a send due, a deadline, the end of a pause) are a timerfd in its
// epoll set, whose expiry is in nanoseconds: Go's own timers wake a
// netpoller that sleeps in whole milliseconds.
type loop struct {
	tally
	index  int
	epfd   int
	wakefd int // an eventfd: the generator's abort and end of duration
	timer  int // a timerfd: the loop's next time
	slots  []slot
	// idle holds the slots free for a send (open loop), in the order they
	// became free: sends take turns over the connections, as the workers
	// take turns at the pacer's channel.
	idle slotQueue
	// ready holds the slots to step again without waiting for an event:
	// one that finished a request (the next starts from here, not from
	// inside the last one's completion), or that stopped reading a long
	// response to let the others have the loop.
	ready, stepping []*slot
	// deadlines holds the slots with a request in flight by its deadline,
	// in the order they began, which is the order of their deadlines as
	// every request has the same timeout; backoffs, the slots waiting out
	// failPause, by the end of their pause.
	deadlines, backoffs slotList
	events              [256]unix.EpollEvent
	pending             int // of events, those the last poll found
	latency, lag        *hdrhistogram.Histogram
	lastEnd             time.Duration // since the start

	// The open-loop schedule's share of this loop: send k goes to slot k
	// mod Concurrency, and the loop has slots first, first+stride, ....
	// The next send is round*Concurrency+next.
	first, stride, conc int64
	next, round         int64
	total               int64 // sends in the whole schedule
	queued              bool  // the next send found no free slot
	scheduleOver        bool
	ps                  pacerStats
	cutDone             bool

	// The epoll instance as Go's netpoller sees it.
	pollFile *os.File
	pollConn syscall.RawConn
	pollFn   func(fd uintptr) bool
	// armed is when the timer is set to expire, since the start; 0: not
	// set. fired: it has expired, and is readable until set again.
	armed time.Duration
	fired bool

	target  sockaddr
	sources []sockaddr
	family  int
	// System call arguments, kept here so that their addresses neither
	// escape per call nor point into a stack.
	portRange     uint32
	one           int32
	lingerRST     unix.Linger // {1, 0}: close() sends RST
	lingerDefault unix.Linger
	soError       int32
	soErrorSize   uint32
	peek          [1]byte
	wakeBuf       [8]byte
	expiry        unix.ItimerSpec
}

// newLoops makes the generator's event loops: one per processor Go may
// use, at most one per connection. Their descriptors are made when the
// run starts.
func newLoops(g *Generator) ([]*loop, error) {
	n := min(runtime.GOMAXPROCS(0), g.cfg.Concurrency)
	ap := g.addr.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	inet6 := ap.Addr().Is6()
	target := makeSockaddr(ap, inet6)
	var sources []sockaddr
	for _, src := range g.cfg.Sources {
		sources = append(sources, makeSockaddr(netip.AddrPortFrom(src, 0), inet6))
	}
	family := unix.AF_INET
	if inet6 {
		family = unix.AF_INET6
	}
	loops := make([]*loop, n)
	for i := range loops {
		l := &loop{
			index: i, epfd: -1, wakefd: -1, timer: -1,
			latency: NewHistogram(), lag: NewHistogram(),
			first: int64(i), stride: int64(n), conc: int64(g.cfg.Concurrency), next: int64(i),
			target: target, sources: sources, family: family,
			one: 1, lingerRST: unix.Linger{Onoff: 1},
		}
		l.tally.init(g)
		if r := g.cfg.PortRange; !r.IsZero() {
			l.portRange = uint32(r.Lo) | uint32(r.Hi)<<16
		}
		l.slots = make([]slot, (g.cfg.Concurrency-i+n-1)/n)
		for j := range l.slots {
			l.slots[j].init(l, j)
		}
		l.idle.ring = make([]*slot, len(l.slots))
		l.ready = make([]*slot, 0, len(l.slots))
		l.stepping = make([]*slot, 0, len(l.slots))
		l.pollFn = l.poll
		loops[i] = l
	}
	return loops, nil
}

// open makes the loop's epoll instance, with its wake-up eventfd and its
// timerfd, and registers it with Go's netpoller.
func (l *loop) open() error {
	var err error
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fmt.Errorf("loadgen: epoll_create1: %w", err)
	}
	if l.wakefd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fmt.Errorf("loadgen: eventfd: %w", err)
	}
	if l.timer, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fmt.Errorf("loadgen: timerfd_create: %w", err)
	}
	for _, fd := range []struct{ fd, data int }{{l.wakefd, wakeEvent}, {l.timer, timerEvent}} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd.data)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd.fd, &ev); err != nil {
			return fmt.Errorf("loadgen: epoll_ctl: %w", err)
		}
	}
	// An epoll descriptor is pollable: readable when it has events.
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return fmt.Errorf("loadgen: epoll fd: %w", err)
	}
	l.pollFile = os.NewFile(uintptr(l.epfd), "epoll")
	if l.pollConn, err = l.pollFile.SyscallConn(); err != nil {
		return fmt.Errorf("loadgen: epoll fd: %w", err)
	}
	return nil
}

func (l *loop) close() {
	if l.pollFile != nil {
		_ = l.pollFile.Close()
		l.pollFile, l.epfd = nil, -1
	}
	for _, fd := range []int{l.wakefd, l.timer, l.epfd} {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
	}
	l.epfd, l.wakefd, l.timer = -1, -1, -1
}

// wake interrupts the loop's wait, to have it look at the generator's
// state: from another goroutine.
func (l *loop) wake() {
	one := [8]byte{1}
	_, _ = unix.Write(l.wakefd, one[:])
}

// now returns the time since the run's start.
func (l *loop) now() time.Duration { return time.Since(l.g.start) }

// run drives the loop's slots until the run is over for it: every slot
// idle, and nothing left to send.
func (l *loop) run() {
	open := l.g.cfg.Rate > 0
	if open {
		for i := range l.slots {
			l.idle.push(&l.slots[i])
		}
		if l.first >= l.total {
			l.scheduleOver = true
		}
	} else {
		for i := range l.slots {
			l.makeReady(&l.slots[i])
		}
	}
	for {
		now := l.now()
		if open {
			l.send(now) // first: a send is due now, what came can wait
		}
		l.handle()
		if !l.cutDone && l.g.cutOff() {
			l.cut(now)
		}
		l.expire(now)
		l.step(now)
		if open {
			l.send(l.now())
		}
		if l.over() {
			break
		}
		l.wait(l.nextWake(open))
	}
	l.finish()
}

// over reports whether the loop is done: no slot busy, no send left.
func (l *loop) over() bool {
	if len(l.ready) > 0 || l.deadlines.head != nil || l.backoffs.head != nil {
		return false
	}
	if l.g.cfg.Rate > 0 {
		return l.scheduleOver || l.cutDone
	}
	for i := range l.slots {
		if l.slots[i].state != slotIdle {
			return false
		}
	}
	return true
}

// poll looks for events without waiting, for pollConn.Read: false asks it
// to wait until there are some.
func (l *loop) poll(fd uintptr) bool {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&l.events[0])), uintptr(len(l.events)), 0, 0, 0)
	if e != 0 {
		l.pending = 0
		return e != unix.EINTR
	}
	l.pending = int(r)
	return l.pending > 0
}

// wait waits for events, at most until the time of wake (since the start;
// negative: no limit; 0: no wait), and keeps them for handle.
func (l *loop) wait(wake time.Duration) {
	if len(l.ready) > 0 {
		wake = 0
	}
	if wake == 0 {
		l.poll(uintptr(l.epfd))
		return
	}
	l.setTimer(wake)
	if err := l.pollConn.Read(l.pollFn); err != nil {
		l.pending = 0 // the descriptor closed: not while the loop runs
	}
}

// setTimer has the timer expire at wake, or not at all for a negative
// wake. It is set only when a wake is due earlier than it is set for: one
// set for a request since answered costs a needless look when it expires,
// and less than setting it for every request. One that has expired is set
// again, or unset, as it is readable until then.
func (l *loop) setTimer(wake time.Duration) {
	if wake > 0 && (l.armed == 0 || wake < l.armed) {
		d := max(wake-l.now(), time.Nanosecond) // 0 would unset it
		l.expiry.Value = unix.NsecToTimespec(int64(d))
		l.armed, l.fired = wake, false
	} else if l.fired {
		l.expiry.Value = unix.Timespec{}
		l.armed, l.fired = 0, false
	} else {
		return
	}
	_, _, _ = unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(l.timer), 0, uintptr(unsafe.Pointer(&l.expiry)), 0, 0, 0)
}

// handle handles the events the last poll found.
func (l *loop) handle() {
	n := l.pending
	l.pending = 0
	now := l.now()
	for i := range n {
		ev := &l.events[i]
		switch ev.Fd {
		case wakeEvent:
			_, _ = unix.Read(l.wakefd, l.wakeBuf[:])
			continue
		case timerEvent:
			l.armed, l.fired = 0, true
			continue
		}
		s := &l.slots[ev.Fd]
		if s.gen != ev.Pad || s.fd < 0 {
			continue // an event of the slot's previous connection
		}
		s.onEvent(ev.Events, now)
	}
}

// nextWake returns when the loop must look again without an event: the
// earliest deadline, end of a pause, or open-loop send; -1 if none.
func (l *loop) nextWake(open bool) time.Duration {
	wake := time.Duration(-1)
	earliest := func(t time.Duration) {
		if wake < 0 || t < wake {
			wake = t
		}
	}
	if s := l.deadlines.head; s != nil {
		earliest(s.at)
	}
	if s := l.backoffs.head; s != nil {
		earliest(s.at)
	}
	if open && !l.scheduleOver && !l.cutDone {
		if l.idle.n > 0 {
			earliest(dueAt(l.g.cfg.Rate, l.round*l.conc+l.next))
		}
		if l.g.cfg.Duration > 0 {
			earliest(l.g.cfg.Duration + endGrace)
		}
	}
	if wake == 0 {
		wake = 1 // 0 is "do not wait"
	}
	return wake
}

// makeReady queues s to be stepped without an event.
func (l *loop) makeReady(s *slot) {
	if !s.ready {
		s.ready = true
		l.ready = append(l.ready, s)
	}
}

// step steps the slots made ready before it began; those it makes ready
// wait for the next turn, after a look at the events.
func (l *loop) step(now time.Duration) {
	l.ready, l.stepping = l.stepping[:0], l.ready
	for _, s := range l.stepping {
		s.ready = false
		s.resume(now)
	}
}

// expire handles the slots whose deadline or pause has come.
func (l *loop) expire(now time.Duration) {
	for s := l.deadlines.head; s != nil && s.at <= now; s = l.deadlines.head {
		l.deadlines.remove(s)
		s.timedOut(now)
	}
	for s := l.backoffs.head; s != nil && s.at <= now; s = l.backoffs.head {
		l.backoffs.remove(s)
		s.state = slotIdle
		l.makeReady(s)
	}
}

// send starts the open-loop sends that are due, each on a free slot. A
// send that finds none waits for one, counted once as queued; at the end
// of the duration and its grace, the sends left are counted unsent.
func (l *loop) send(now time.Duration) {
	g := l.g
	for !l.scheduleOver && !l.cutDone {
		if g.aborting.Load() {
			l.scheduleOver = true
			return
		}
		if g.cfg.Duration > 0 && now >= g.cfg.Duration+endGrace {
			l.ps.unsent = l.share(l.total) - l.ps.scheduled
			l.scheduleOver = true
			return
		}
		due := dueAt(g.cfg.Rate, l.round*l.conc+l.next)
		if due > now {
			return
		}
		if l.idle.n == 0 {
			if !l.queued {
				l.queued = true
				l.ps.queued++
			}
			return
		}
		s := l.idle.pop()
		l.ps.scheduled++
		l.queued = false
		if l.next += l.stride; l.next >= l.conc {
			l.next = l.first
			l.round++
		}
		if l.round*l.conc+l.next >= l.total {
			l.scheduleOver = true
		}
		now = l.now() // starting a send takes some microseconds
		lag := now - due
		_ = l.lag.RecordValue(min(max(lag.Microseconds(), 0), histMax))
		if lag > LateAfter {
			l.late++
		}
		s.start(due, now)
	}
}

// share returns how many of sends 0 to n-1 go to this loop's slots.
func (l *loop) share(n int64) int64 {
	per := (l.conc - l.first + l.stride - 1) / l.stride // slots of this loop
	k := (n / l.conc) * per
	if r := n % l.conc; r > l.first {
		k += (r - l.first + l.stride - 1) / l.stride
	}
	return k
}

// cut cuts off every request in flight, once the run is interrupted or
// its duration and grace are over.
func (l *loop) cut(now time.Duration) {
	l.cutDone = true
	for i := range l.slots {
		l.slots[i].cut(now)
	}
}

// finish closes the connections kept alive to the end, as promised, and
// hands the tally its end.
func (l *loop) finish() {
	now := l.now()
	for i := range l.slots {
		s := &l.slots[i]
		if s.fd >= 0 {
			l.closes.AtEnd++
			s.hangUpAfterResponse(now, l.g.cfg.Closer == CloserClientRST)
		}
		s.stopSlow()
	}
	if l.lastEnd > 0 {
		l.tally.lastEnd = l.g.start.Add(l.lastEnd)
	}
}
