package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

// WatchedEnd is an endpoint that --watch named: the sockets whose remote
// address and port are its (its client end) and those whose local ones
// are (its server end), as for the target.
type WatchedEnd struct {
	// Name is the endpoint's name, its key in the JSON report.
	Name    string `json:"-"`
	Address string `json:"address"`
	Client  End    `json:"client"`
	Server  End    `json:"server"`
}

// WatchedEnds are the watched endpoints in the order --watch gave them.
// In JSON they are an object keyed by name, in that order, so that an
// expectation can name one: watched.upstream.client.new_time_wait.
type WatchedEnds []WatchedEnd

// MarshalJSON writes the endpoints as an object in their order.
func (w WatchedEnds) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range w {
		if i > 0 {
			b.WriteByte(',')
		}
		name, err := json.Marshal(e.Name)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(e)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(body)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes, keeping the order.
func (w *WatchedEnds) UnmarshalJSON(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("report: watched: want an object")
	}
	*w = nil
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return fmt.Errorf("report: watched: %w", err)
		}
		name, _ := t.(string)
		var e WatchedEnd
		if err := d.Decode(&e); err != nil {
			return fmt.Errorf("report: watched %q: %w", name, err)
		}
		e.Name = name
		*w = append(*w, e)
	}
	if _, err := d.Token(); err != nil {
		return fmt.Errorf("report: watched: %w", err)
	}
	return nil
}

// Lookup returns the endpoint called name.
func (w WatchedEnds) Lookup(name string) (*WatchedEnd, bool) {
	for i := range w {
		if w[i].Name == name {
			return &w[i], true
		}
	}
	return nil, false
}

// WatchedInput is what was gathered of one watched endpoint.
type WatchedInput struct {
	Name, Address string
	// Samples are its samples in time order, the first the baseline.
	Samples []Sample
	// ClientUnsampled and ServerUnsampled say why an end was not sampled.
	ClientUnsampled, ServerUnsampled string
	// ClientHolders and ServerHolders are each end's TIME_WAIT holders at
	// its peak; nil when it held none.
	ClientHolders, ServerHolders *HoldersAt
}

// HoldersAt are an end's TIME_WAIT holders in the sample taken at At.
type HoldersAt struct {
	At time.Time
	sockstat.TimeWaitHolders
}

// What each end's holders are.
const (
	HoldersRemote = "remote" // a server end's: its clients' addresses
	HoldersLocal  = "local"  // a client end's: its own source addresses
)

// holders summarises an end's TIME_WAIT holders at the sample taken at
// h.At; nil when there were none.
func holders(h *HoldersAt, by string, start time.Time) *Holders {
	if h == nil || h.Top[0].Count == 0 {
		return nil
	}
	out := &Holders{By: by, T: round(h.At.Sub(start).Seconds(), 3), Top: []Holder{},
		Addresses: h.Addrs, Untracked: h.Untracked}
	for _, c := range h.Top {
		if c.Count > 0 {
			out.Top = append(out.Top, Holder{Address: c.Addr.String(), TimeWait: c.Count})
		}
	}
	return out
}

// timeWaitMemory is the memory an end's TIME_WAIT sockets held at their
// peak; nil when the size of one is not known or the end held none.
func timeWaitMemory(e *End, obj sockstat.TimeWaitObject) *TimeWaitMemory {
	peak := e.Peak[sockstat.TimeWait.String()]
	if obj.Bytes <= 0 || !e.Sampled || peak == 0 {
		return nil
	}
	return &TimeWaitMemory{PeakBytes: int64(peak) * obj.Bytes, ObjectBytes: obj.Bytes, Slab: obj.Slab,
		SizeFrom: obj.From, Reason: obj.Reason}
}

// buildWatched summarises the watched endpoints.
func buildWatched(in *Input, res *loadgen.Result) WatchedEnds {
	var out WatchedEnds
	for i := range in.Watched {
		wi := &in.Watched[i]
		w := WatchedEnd{Name: wi.Name, Address: wi.Address}
		w.Client = buildEnd(wi.Samples, res, wi.ClientUnsampled, func(s *sockstat.Sample) (*sockstat.Counts, int) {
			return &s.Client, s.ClientNewTimeWait
		})
		w.Server = buildEnd(wi.Samples, res, wi.ServerUnsampled, func(s *sockstat.Sample) (*sockstat.Counts, int) {
			return &s.Server, s.ServerNewTimeWait
		})
		w.Client.TimeWaitHolders = holders(wi.ClientHolders, HoldersLocal, res.Start)
		w.Server.TimeWaitHolders = holders(wi.ServerHolders, HoldersRemote, res.Start)
		w.Client.TimeWaitMemory = timeWaitMemory(&w.Client, in.TimeWaitObject)
		w.Server.TimeWaitMemory = timeWaitMemory(&w.Server, in.TimeWaitObject)
		out = append(out, w)
	}
	return out
}

// namedEnd is one end of a run, named as the text report names it:
// "client", "server", "upstream client".
type namedEnd struct {
	name string
	e    *End
}

// namedEnds lists a run's ends: the target's, then each watched
// endpoint's.
func namedEnds(r *Run) []namedEnd {
	ends := []namedEnd{{"client", &r.Client}, {"server", &r.Server}}
	for i := range r.Watched {
		w := &r.Watched[i]
		ends = append(ends, namedEnd{w.Name + " client", &w.Client}, namedEnd{w.Name + " server", &w.Server})
	}
	return ends
}

// holdersLine says where an end's TIME_WAIT sockets were at their peak,
// and the memory they held; "" when it held none.
func holdersLine(name string, e *End) string {
	h, m := e.TimeWaitHolders, e.TimeWaitMemory
	if h == nil && m == nil {
		return ""
	}
	msg := "the " + name + " end's " + commas(int64(e.Peak["TIME_WAIT"])) + " TIME_WAIT sockets at their peak"
	if h != nil {
		what := "remote address"
		if h.By == HoldersLocal {
			what = "local address"
		}
		var parts []string
		for _, x := range h.Top {
			parts = append(parts, x.Address+" "+commas(int64(x.TimeWait)))
		}
		msg += fmt.Sprintf(" (%s s), by %s: %s", strconvFloat(h.T, 1), what, strings.Join(parts, ", "))
		if rest := h.Addresses - len(h.Top); rest > 0 {
			msg += fmt.Sprintf(" and %s more addresses", commas(int64(rest)))
		}
		if h.Untracked > 0 {
			msg += fmt.Sprintf(" (%s sockets of addresses past the first %d uncounted)", commas(int64(h.Untracked)), sockstat.MaxHolderAddrs)
		}
	}
	if m != nil {
		size := "from /proc/slabinfo"
		if m.SizeFrom != sockstat.SizeFromSlabinfo {
			size = "the usual size: /proc/slabinfo is root's"
		}
		msg += fmt.Sprintf("; they held %s of kernel memory, %d bytes each (%s, %s)", humanBytes(m.PeakBytes), m.ObjectBytes, m.Slab, size)
	}
	return msg
}

// humanBytes writes a size in binary units: 3.3 MiB.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, u := float64(n)/unit, "KiB"
	for _, next := range []string{"MiB", "GiB", "TiB"} {
		if v < unit {
			break
		}
		v, u = v/unit, next
	}
	return strconvFloat(v, 1) + " " + u
}

func strconvFloat(v float64, digits int) string { return strconv.FormatFloat(v, 'f', digits, 64) }
