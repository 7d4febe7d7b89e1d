package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/harness"
)

type fakeLive []harness.EndTimeWait

func (f fakeLive) TimeWait(dst []harness.EndTimeWait) []harness.EndTimeWait { return append(dst, f...) }
func (f fakeLive) Closed() int64                                            { return 4000 }

// TestLiveLine: the command's output clears the line before it is
// written; the line is drawn again, cut to the width, only where a line
// of output has ended.
func TestLiveLine(t *testing.T) {
	var b bytes.Buffer
	l := &liveLine{w: &b, on: true, width: 30}
	l.draw("ab 1.0 s · TIME_WAIT server 13,576, client 0")
	l.Write([]byte("Completed 4000 requests\n"))
	l.Write([]byte("partial"))
	l.draw("not drawn: the output is mid-line")
	l.Write([]byte(" line\n"))
	l.draw("drawn")
	l.clear()
	want := "\r\x1b[Kab 1.0 s · TIME_WAIT server …" + "\r\x1b[KCompleted 4000 requests\npartial line\n" + "\r\x1b[Kdrawn" + "\r\x1b[K"
	if got := b.String(); got != want {
		t.Errorf("the terminal got %q; want %q", got, want)
	}
	b.Reset()
	off := &liveLine{w: &b}
	off.draw("never")
	off.Write([]byte("out\n"))
	off.clear()
	if b.String() != "out\n" {
		t.Errorf("without a terminal the output is %q; want it passed through alone", b.String())
	}
}

func TestTimeWaitText(t *testing.T) {
	live := fakeLive{{End: "client"}, {End: "server", TimeWait: 13576}, {End: "upstream client", TimeWait: 1200}}
	if got, want := timeWaitText(live), "TIME_WAIT client 0, server 13,576, upstream client 1,200"; got != want {
		t.Errorf("timeWaitText = %q; want %q", got, want)
	}
	if got := timeWaitText(fakeLive{}); got != "" {
		t.Errorf("timeWaitText of no ends = %q; want nothing", got)
	}
	var b bytes.Buffer
	l := &liveLine{w: &b, on: true, width: 200}
	stop := l.watching("ab", live)
	time.Sleep(500 * time.Millisecond)
	stop()
	if got := b.String(); !strings.Contains(got, "ab 0.") || !strings.Contains(got, "closed/s · TIME_WAIT client 0, server 13,576") {
		t.Errorf("the live line drew %q", got)
	}
}
