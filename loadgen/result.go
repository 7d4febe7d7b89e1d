package loadgen

import (
	"net/netip"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Closes counts connections by which end the client saw close first.
type Closes struct {
	ClientFirst int64 `json:"client_first"` // the client's FIN came first: its TIME_WAIT
	ServerFirst int64 `json:"server_first"` // the server's FIN came first: its TIME_WAIT
	ClientRST   int64 `json:"client_rst"`   // the client reset the connection: no TIME_WAIT
	ServerRST   int64 `json:"server_rst"`   // the server reset the connection: no TIME_WAIT
	// AtEnd counts the connections, among those above, that were still
	// open when the load ended and that the client then closed: a
	// keep-alive pool's, or those part-way through RequestsPerConn.
	AtEnd int64 `json:"at_end"`
}

// Total returns the number of closed connections.
func (c Closes) Total() int64 {
	return c.ClientFirst + c.ServerFirst + c.ClientRST + c.ServerRST
}

func (c *Closes) add(o Closes) {
	c.ClientFirst += o.ClientFirst
	c.ServerFirst += o.ServerFirst
	c.ClientRST += o.ClientRST
	c.ServerRST += o.ServerRST
	c.AtEnd += o.AtEnd
}

// SourceStats is what one source address was used for.
type SourceStats struct {
	Addr        netip.Addr
	Connections int64
	// NoPort counts the connects from the address that found no free
	// port (EADDRNOTAVAIL).
	NoPort int64
}

// LateAfter is how far after its intended time an open-loop send may
// start and still count as on time.
const LateAfter = time.Millisecond

// NumErrorClasses is the number of ErrorClass values.
const NumErrorClasses = int(numErrorClasses)

// Result is what a run did.
type Result struct {
	Start time.Time
	// Elapsed runs from the start to the end of the last request.
	Elapsed time.Duration
	// Requests counts responses read in full, whatever their status.
	Requests int64
	// Connections counts connections established.
	Connections int64
	Errors      [NumErrorClasses]int64
	// FirstError holds the first error message of each class, to show what
	// the class stands for in this run.
	FirstError [NumErrorClasses]string
	// Timeline holds the cumulative counts at each whole second of the
	// run and at its end.
	Timeline []Progress
	// Onset holds the cumulative counts at the first error of each class,
	// and its time (T) since the start; zero for a class not seen.
	Onset [NumErrorClasses]Progress
	// Sources are the connections opened from each source address.
	Sources     []SourceStats
	StatusCodes map[int]int64
	Closes      Closes
	// ConnLifetime is the summed lifetime, from connect to close, of the
	// Closes.Total() closed connections.
	ConnLifetime time.Duration
	// Latency holds each request's latency in microseconds: from its
	// intended send time in open loop, from its start in closed loop.
	Latency *hdrhistogram.Histogram
	// Lag holds, in open loop, how late each request started after its
	// intended send time, in microseconds.
	Lag *hdrhistogram.Histogram
	// In open loop: Scheduled counts the sends the pacer issued; Late
	// those that started more than LateAfter after their intended time;
	// Queued those that found every connection busy and waited for one;
	// Unsent the sends due before the end of the duration that the pacer,
	// behind its schedule, never issued.
	Scheduled int64
	Late      int64
	Queued    int64
	Unsent    int64
	// CloseErrors counts connections whose close went wrong after a
	// complete response: the server did not close when it was to
	// (timeout), or sent more than its response (bad_response). Their
	// requests count as done.
	CloseErrors [NumErrorClasses]int64
	// Interrupted is set when the run was cancelled before its end;
	// Aborted counts the requests cut off then, which are not errors.
	Interrupted bool
	Aborted     int64
	// Cut counts the requests still in flight a second after the end of
	// the duration, cut off then so that the duration bounds the run:
	// neither answered nor failed.
	Cut int64
}

// MeanConnLifetime returns the mean time a connection stayed open.
func (r *Result) MeanConnLifetime() time.Duration {
	n := r.Closes.Total()
	if n == 0 {
		return 0
	}
	return r.ConnLifetime / time.Duration(n)
}

// ErrorCount returns the number of failed requests.
func (r *Result) ErrorCount() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Histogram bounds, in microseconds: 1 µs to an hour, 3 significant digits.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

// NewHistogram returns an empty latency histogram with twbench's bounds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histSigFigs)
}

// recorder is a histogram shared by the workers. Workers hand it latencies
// in batches of 128: a histogram per worker would cost ~190 KB each, 190 MB at a
// thousand connections, and a lock per request would serialise them.
type recorder struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newRecorder() *recorder { return &recorder{h: NewHistogram()} }

// batch buffers one worker's values for a recorder.
type batch struct {
	to   *recorder
	n    int
	vals [128]int64
}

func (b *batch) record(d time.Duration) {
	v := min(max(d.Microseconds(), 0), histMax)
	b.vals[b.n] = v
	b.n++
	if b.n == len(b.vals) {
		b.flush()
	}
}

func (b *batch) flush() {
	if b.n == 0 {
		return
	}
	b.to.mu.Lock()
	for _, v := range b.vals[:b.n] {
		_ = b.to.h.RecordValue(v) // within bounds: record clamps
	}
	b.to.mu.Unlock()
	b.n = 0
}
