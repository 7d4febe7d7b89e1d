package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/twbench/twbench/harness"
)

// liveLine is a status line at the foot of a terminal, under the output
// of a watched command: the command's output passes through it, each
// write clearing the line first; the line is drawn again at the next
// tick, unless the output stopped in the middle of a line. Without a
// terminal it only passes the output through.
type liveLine struct {
	mu     sync.Mutex
	w      io.Writer
	on     bool // draw the line: w is a terminal
	drawn  bool // the line is on the screen
	midway bool // the output's last write did not end a line
	width  int
}

func newLiveLine(w io.Writer, on bool) *liveLine {
	l := &liveLine{w: w, on: on, width: 80}
	if f, ok := w.(*os.File); ok && on {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			l.width = cols
		}
	}
	return l
}

// Write passes the command's output through.
func (l *liveLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		io.WriteString(l.w, "\r\x1b[K")
		l.drawn = false
	}
	if len(p) > 0 {
		l.midway = p[len(p)-1] != '\n'
	}
	return l.w.Write(p)
}

// draw shows text as the line, cut to the terminal's width.
func (l *liveLine) draw(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on || l.midway {
		return
	}
	if r := []rune(text); len(r) >= l.width {
		text = string(r[:l.width-2]) + "…"
	}
	fmt.Fprintf(l.w, "\r\x1b[K%s", text)
	l.drawn = true
}

// clear takes the line off the screen.
func (l *liveLine) clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		io.WriteString(l.w, "\r\x1b[K")
		l.drawn = false
	}
}

// timeWaitText is the ends' TIME_WAIT as a progress line shows it:
// "TIME_WAIT client 0, server 13,576, upstream client 40".
func timeWaitText(live harness.Live) string {
	ends := live.TimeWait(nil)
	if len(ends) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("TIME_WAIT ")
	for i, e := range ends {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", e.End, groupDigits(int64(e.TimeWait)))
	}
	return b.String()
}

// groupDigits writes n with commas between groups of three digits.
func groupDigits(n int64) string {
	s := fmt.Sprint(n)
	var b bytes.Buffer
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// watching draws the live line of a watched command every tick: its
// time, the rate its connections to the target closed at, and each end's
// TIME_WAIT. It returns the function that stops it.
func (l *liveLine) watching(name string, live harness.Live) (stop func()) {
	stopTicks := everyTick(func(elapsed time.Duration) {
		text := fmt.Sprintf("%s %.1f s · %s closed/s", name, elapsed.Seconds(),
			groupDigits(int64(float64(live.Closed())/elapsed.Seconds())))
		if tw := timeWaitText(live); tw != "" {
			text += " · " + tw
		}
		l.draw(text)
	})
	return func() {
		stopTicks()
		l.clear()
	}
}

// everyTick calls fn with the time since it started every 200 ms, until
// the stop it returns is called; stop returns when fn has returned.
func everyTick(fn func(elapsed time.Duration)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		start := time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			fn(time.Since(start))
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
