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
// thread: within the kernel's timer slack (50 µs) instead of a millisecond.
func preciseSleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	for unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, &ts) == unix.EINTR {
	}
}
