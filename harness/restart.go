package harness

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/sockstat"
)

// rebindEvery is how often a restart that failed to bind tries again.
const rebindEvery = 100 * time.Millisecond

// restartLater stops the built-in target at the scenario's restart_at
// into the load and starts it again on the same address, trying again
// until it binds or the load ends. The stop it returns ends the tries
// and returns when they have ended; r.in.Restart then says what
// happened.
func (r *run) restartLater() (stop func()) {
	delay := r.sc.RestartDelay()
	if delay <= 0 || r.srv == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	skipped := false
	wg.Go(func() {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-done:
			skipped = true
			return
		}
		r.in.Restart = r.restart(start, done)
	})
	return func() {
		close(done)
		wg.Wait()
		if skipped {
			r.in.Notes = append(r.in.Notes, fmt.Sprintf("restart_at %v: the load ended after %v, before it, and the built-in target was not restarted",
				delay, time.Since(start).Round(time.Millisecond)))
		}
	}
}

// restart stops the built-in target and binds it again on its address,
// every rebindEvery until it binds or done is closed.
func (r *run) restart(loadStart time.Time, done <-chan struct{}) *report.Restart {
	ap := r.srv.Addr().AddrPort()
	addr := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	stopping := time.Now()
	_ = r.srv.Close()
	r.stopped, r.srv = append(r.stopped, r.srv), nil
	stopped := time.Now()
	res := &report.Restart{AtS: float64(stopping.Sub(loadStart).Milliseconds()) / 1000, ReuseAddr: !r.sc.ListenOptions().NoReuseAddr,
		StopMS: millis(stopped.Sub(stopping))}
	tick := time.NewTicker(rebindEvery)
	defer tick.Stop()
	for {
		res.Attempts++
		b, err := startBuiltin(r.sc, r.opts.network, addr.String())
		if err == nil {
			r.srv = b.front
			res.Bound = true
			ms := millis(time.Since(stopped))
			res.RebindMS = &ms
			return res
		}
		if res.Attempts == 1 {
			res.Error, res.ErrorMessage = errnoName(err), err.Error()
			res.TimeWaitOnPort = r.timeWaitOn(addr)
		}
		select {
		case <-tick.C:
		case <-done:
			return res
		}
	}
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// errnoName names the error a bind failed with: EADDRINUSE, or its
// message.
func errnoName(err error) string {
	if errors.Is(err, syscall.EADDRINUSE) {
		return "EADDRINUSE"
	}
	return err.Error()
}

// timeWaitOn counts the TIME_WAIT sockets on the server's address and
// port, in its namespace; -1 when they could not be counted.
func (r *run) timeWaitOn(addr netip.AddrPort) int {
	n := -1
	_ = r.opts.network.inServer(func() error {
		s, err := sockstat.NewSampler(addr)
		if err != nil {
			return err
		}
		defer s.Close()
		sample, err := s.Sample()
		if err != nil {
			return err
		}
		n = int(sample.Server[sockstat.TimeWait])
		return nil
	})
	return n
}
