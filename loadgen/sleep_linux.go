package loadgen

import (
	"time"

	"golang.org/x/sys/unix"
)

// preciseSleepMax is the longest wait the pacer sleeps with preciseSleep.
// The Go runtime rounds a timer's wait up to a whole millisecond when the
// process is otherwise idle (netpoll's epoll_wait takes milliseconds), so
// at 4,000 requests/s every send would be up to a millisecond late.
const preciseSleepMax = 2 * time.Millisecond

// preciseSleep sleeps for d with clock_nanosleep, blocking the calling
// thread: within the thread's timer slack (preciseThread) instead of a
// millisecond.
func preciseSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &ts) == unix.EINTR {
	}
}

// preciseThread makes the calling thread's sleeps end on time: the kernel
// lets a sleep run on by the thread's timer slack, 50 µs by default, which
// at 20,000 sends a second is a whole interval. It returns the function
// that restores the slack.
func preciseThread() (restore func()) {
	old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return func() {}
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0); err != nil {
		return func() {}
	}
	return func() { _ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0) }
}
