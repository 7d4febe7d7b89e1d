package loadgen

import (
	"context"
	"io"
	"math"
	"net"
	"testing"
	"time"
)

func TestDueAt(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		i    int64
		want time.Duration
	}{
		{4000, 0, 0},
		{4000, 1, 250 * time.Microsecond},
		{4000, 4000, time.Second},
		{4000, 39999, 9999750 * time.Microsecond},
		{3, 1, 333333333 * time.Nanosecond},
		{0.5, 2, 4 * time.Second},
		{1e6, 1e9, 1000 * time.Second},
	} {
		if got := dueAt(tc.rate, tc.i); got != tc.want {
			t.Errorf("dueAt(%g, %d) = %v; want %v", tc.rate, tc.i, got, tc.want)
		}
	}
}

// intended must return, whatever the rate and duration: a schedule of more
// sends than an int64 holds is capped, not overflowed. (rate × duration
// above about 9.2e18 made it count up from math.MinInt64, forever.)
func TestIntendedCannotOverflow(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		d    time.Duration
		n    int64
		want int64
	}{
		{4000, 10 * time.Second, 0, 40000},
		{3, time.Second, 0, 3},
		{3, time.Second, 2, 2},
		{1e19, time.Second, 0, math.MaxInt64},
		{1e19, time.Second, 5, 5},
		{math.MaxFloat64, time.Hour, 0, math.MaxInt64},
		{1e10, time.Duration(math.MaxInt64), 0, math.MaxInt64},
		{MaxRate, time.Duration(math.MaxInt64), 0, -1}, // about 9.2e16: past float64's exact integers
	} {
		g := &Generator{cfg: Config{Rate: tc.rate, Duration: tc.d, Requests: tc.n}}
		done := make(chan int64, 1)
		go func() { done <- g.intended() }()
		select {
		case got := <-done:
			if got != tc.want && !(tc.want == -1 && got > 9.2e16 && got < 9.3e16) {
				t.Errorf("intended(rate %g, -d %v, -n %d) = %d; want %d", tc.rate, tc.d, tc.n, got, tc.want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("intended(rate %g, -d %v, -n %d) did not return in 2s", tc.rate, tc.d, tc.n)
		}
	}
}

// A pacer whose schedule is beyond what it can hand out still ends at once
// when the run is cancelled: the first SIGINT must end a run.
func TestPacerEndsOnCancelAtAnyRate(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	for _, client := range Clients() {
		g, err := New(Config{Protocol: Connect, Closer: CloserClient, Target: "tcp://" + ln.Addr().String(),
			Concurrency: 2, Rate: 1000, Duration: time.Second, Timeout: time.Second, Client: client})
		if err != nil {
			t.Fatal(err)
		}
		g.cfg.Rate = 1e19 // past validation, as a rate from before it was bounded
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		done := make(chan *Result, 1)
		go func() { res, _ := g.Run(ctx); done <- res }()
		select {
		case res := <-done:
			if !res.Interrupted {
				t.Errorf("%s: the run was cancelled, but its result does not say it was interrupted", client)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: Run did not return within 3s of its cancellation", client)
		}
	}
}
