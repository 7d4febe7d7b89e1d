package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// Client reads a remote agent's API.
type Client struct {
	base  string // scheme://host:port
	token string
	hc    *http.Client
}

// maxLine bounds one line of a series stream, and maxHostInfo the host
// answer: a misbehaving agent cannot make a run hold unbounded memory.
const (
	maxLine     = 8 << 10
	maxHostInfo = 64 << 10
)

// NewClient returns a client for the agent at rawURL
// (http://host:port; a path is ignored) that sends token, if any.
func NewClient(rawURL, token string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("agent URL %q: want http://host:port", rawURL)
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("agent URL %q: no port (twbench agent listens on 9911 by default)", rawURL)
	}
	return &Client{
		base:  u.Scheme + "://" + u.Host,
		token: token,
		// No proxy from the environment: the agent is reached directly.
		hc: &http.Client{Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConns:          2,
		}},
	}, nil
}

// URL returns the agent's base URL.
func (c *Client) URL() string { return c.base }

func (c *Client) get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, by the caller
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp, nil
}

// HostInfo asks the agent for its host's settings, counters and clock.
func (c *Client) HostInfo(ctx context.Context) (HostInfo, error) {
	var info HostInfo
	resp, err := c.get(ctx, PathHost)
	if err != nil {
		return info, fmt.Errorf("agent %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxHostInfo)).Decode(&info); err != nil {
		return info, fmt.Errorf("agent %s: host info: %w", c.base, err)
	}
	return info, nil
}

// ClockProbe is one exchange of a clock estimate: when the request left,
// when its answer came back (both on this host's clock), and the agent's
// clock as it answered.
type ClockProbe struct {
	Sent, Received, Agent time.Time
}

// Clock is an estimate of the agent's clock against this host's.
type Clock struct {
	// Offset is the agent's clock minus this host's: an agent time t
	// happened here at t - Offset.
	Offset time.Duration
	// RTT is the round trip of the probe the estimate rests on; the offset
	// is good to about RTT/2.
	RTT time.Duration
}

// EstimateClock estimates the offset from probes as NTP does: the agent
// answered halfway through the round trip. The probe with the shortest
// round trip has the least room for error, so it alone is used.
func EstimateClock(probes []ClockProbe) (Clock, bool) {
	best := -1
	for i, p := range probes {
		if rtt := p.Received.Sub(p.Sent); rtt >= 0 && (best < 0 || rtt < probes[best].Received.Sub(probes[best].Sent)) {
			best = i
		}
	}
	if best < 0 {
		return Clock{}, false
	}
	p := probes[best]
	rtt := p.Received.Sub(p.Sent)
	mid := p.Sent.Add(rtt / 2).Round(0) // the wall clock: the agent's time is one
	return Clock{Offset: p.Agent.Sub(mid), RTT: rtt}, true
}

// ProbeClock asks the agent's host info n times and estimates its clock.
// It returns the last host info it read.
func (c *Client) ProbeClock(ctx context.Context, n int) (Clock, HostInfo, error) {
	var (
		probes []ClockProbe
		info   HostInfo
		err    error
	)
	for range max(n, 1) {
		sent := time.Now()
		info, err = c.HostInfo(ctx)
		received := time.Now()
		if err != nil {
			return Clock{}, info, err
		}
		probes = append(probes, ClockProbe{Sent: sent, Received: received, Agent: time.Unix(0, info.TimeNS)})
	}
	clock, _ := EstimateClock(probes)
	return clock, info, nil
}

// ErrStreamStalled is returned by Stream when the agent sent nothing for
// longer than a stream's interval allows.
var ErrStreamStalled = errors.New("the agent sent nothing")

// Stream opens a series stream for q and hands each sample to fn, its At
// in the agent's clock, until ctx is done (it then returns nil), the
// agent ends the stream, or it stays silent for stall. header is called
// once, with the stream's header, before the first sample.
func (c *Client) Stream(ctx context.Context, q SeriesQuery, stall time.Duration,
	header func(SeriesHeader), fn func(sockstat.Sample)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.get(ctx, PathSeries+"?"+q.Encode())
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	defer resp.Body.Close()

	// A watchdog ends a stream the agent stopped feeding: a dead host
	// sends no FIN. It ends with ctx, and Stream returns only after it.
	alive := make(chan struct{}, 1)
	stalled := make(chan struct{})
	var watchdog sync.WaitGroup
	defer watchdog.Wait()
	defer cancel()
	watchdog.Go(func() {
		t := time.NewTimer(stall)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-alive:
				t.Reset(stall)
			case <-t.C:
				close(stalled)
				cancel()
				return
			}
		}
	})

	err = readSeries(resp.Body, func() {
		select {
		case alive <- struct{}{}:
		default:
		}
	}, header, fn)
	select {
	case <-stalled:
		return fmt.Errorf("%w for %v", ErrStreamStalled, stall)
	default:
	}
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	return errors.New("the agent closed the stream") // it is going away
}

// readSeries reads a series stream's lines until body ends: the header,
// then samples, each handed on; alive is called at each line. It returns
// nil at the end of body, the error of reading it when that failed (the
// watchdog or the caller cut the connection, or the agent went away), and
// an error for a line that is not what the agent sends.
func readSeries(body io.Reader, alive func(), header func(SeriesHeader), fn func(sockstat.Sample)) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	gotHeader := false
	for sc.Scan() {
		alive()
		var line SeriesLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return fmt.Errorf("bad stream line: %w", err)
		}
		switch {
		case line.Error != "":
			return fmt.Errorf("agent: %s", line.Error)
		case line.Header != nil:
			gotHeader = true
			header(*line.Header)
		case line.Sample != nil:
			if !gotHeader {
				return errors.New("bad stream: a sample before the header")
			}
			s, err := line.Sample.FromWire()
			if err != nil {
				return err
			}
			fn(s)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("bad stream: a line over %d bytes", maxLine)
		}
		return err
	}
	return nil
}
