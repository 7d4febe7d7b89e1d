package report

import (
	"strings"
	"time"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

// Watch is what `twbench watch` knows of the command it watched, and how
// it had each figure of the run without twbench's own client.
type Watch struct {
	// Command is the command as it ran, its arguments expanded.
	Command []string `json:"command"`
	// ExitCode is the command's exit status; null when a signal ended it
	// (Signal names the signal) or it never ended.
	ExitCode *int   `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	// WallS is the command's wall time, from its start to its exit.
	WallS  float64     `json:"wall_s"`
	Output WatchOutput `json:"output"`
	// Tool names the load tool whose summary the command printed, which
	// gave the requests, qps, latency and errors: ab, wrk, hey or oha.
	// Absent when the output was none of theirs.
	Tool string `json:"tool,omitempty"`
	// LatencyGiven names the percentiles of latency_us the tool printed;
	// the others are 0 and not measured.
	LatencyGiven []string `json:"latency_given"`
	// FirstClose says which end sent the first FIN of the connections,
	// from where their TIME_WAIT sockets appeared: client, server, mixed,
	// reset (no TIME_WAIT, only RSTs), or none (no connection to the
	// target closed while the command ran).
	FirstClose string `json:"first_close"`
	// ClosesFrom says how the run's closes were counted: "target", by
	// twbench's built-in target at each close (--serve); "time_wait", from
	// the new TIME_WAIT on each end, which samples may miss.
	ClosesFrom  string           `json:"closes_from"`
	Connections WatchConnections `json:"connections"`
	// Resets counts the connections closed with an RST, from the kernel's
	// TCPAbortOnClose, TCPAbortOnLinger and TCPAbortOnData: namespace-wide,
	// either end's; null when the counters were not read.
	Resets *int64 `json:"resets"`
	// Sources says how each figure of the run was had, by its key:
	// WatchSources lists them.
	Sources map[string]string `json:"sources"`
}

// WatchSources lists the keys of Watch.Sources: the run's figures that a
// watched command's run has in its own way.
func WatchSources() []string {
	return []string{"requests", "qps", "duration_s", "latency_us", "errors", "connections", "closes", "resets", "ports"}
}

// WatchOutput is the end of what the command wrote.
type WatchOutput struct {
	// Stdout and Stderr are the last lines of each, at most
	// OutputLines lines of OutputLineBytes.
	Stdout []string `json:"stdout"`
	Stderr []string `json:"stderr"`
	// StdoutBytes and StderrBytes count all it wrote.
	StdoutBytes int64 `json:"stdout_bytes"`
	StderrBytes int64 `json:"stderr_bytes"`
}

// WatchConnections are the connections a watched command made, counted
// in two ways.
type WatchConnections struct {
	// ActiveOpens and PassiveOpens are the changes in the kernel's Tcp
	// counters while the command ran: every connect() and every accepted
	// connection in the network namespace, other programs' too. Null when
	// they were not read.
	ActiveOpens  *int64 `json:"active_opens"`
	PassiveOpens *int64 `json:"passive_opens"`
	// Accepted counts the connections twbench's built-in target accepted
	// (--serve): exact, and the target's alone. Null for another target.
	Accepted *int64 `json:"accepted"`
	// TimeWait counts the new TIME_WAIT sockets on the target's two ends:
	// one per connection closed with a FIN when both ends are on this
	// host, and no other program's; a sample misses those taken over by a
	// new connection before it.
	TimeWait int64 `json:"time_wait"`
	// From names the count the run's connections key took: accepted,
	// else active_opens, else time_wait when the counters were not read.
	From string `json:"from"`
}

// Bounds on the output a report keeps of a watched command.
const (
	// OutputLines is how many of the last lines of each stream are kept.
	OutputLines = 20
	// OutputLineBytes is the longest line kept; a longer one is cut.
	OutputLineBytes = 500
)

// WatchInput is what the harness gathered of a watched command.
type WatchInput struct {
	Command []string
	Start   time.Time // when it started
	Wall    time.Duration
	// ExitCode is its exit status, -1 when Signal ended it or it never
	// ended.
	ExitCode int
	Signal   string
	// Stdout and Stderr are the last bytes of what it wrote (Tail), and
	// the count of all of them.
	Stdout, Stderr Output
	// Target is the address whose two ends were sampled, "" for none.
	Target string
	// Interrupted is set when twbench was interrupted and stopped the
	// command.
	Interrupted bool
	// Accepted counts the connections the built-in target accepted;
	// TargetCloses those it closed, by who closed first as it saw each at
	// its close. Nil for another target.
	Accepted     *int64
	TargetCloses *loadgen.Closes
}

// Output is the end of one of a command's output streams.
type Output struct {
	Tail  []byte
	Bytes int64
}

// lastLines returns the last n lines of b, each cut to OutputLineBytes.
func lastLines(b []byte, n int) []string {
	text := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if text == "" {
		return []string{}
	}
	ls := strings.Split(text, "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	for i, l := range ls {
		if len(l) > OutputLineBytes {
			ls[i] = strings.ToValidUTF8(l[:OutputLineBytes], "") + "…"
		}
	}
	return ls
}

// watchFigures is what Build derives for a watch run before the figures
// it shares with twbench's own runs.
type watchFigures struct {
	summary  ToolSummary
	hasTool  bool
	clientTW int64 // new TIME_WAIT on the target's client end
	serverTW int64 // and on its server end
	// seen is set when a sample found a connection to the target in a
	// state other than TIME_WAIT, after the baseline.
	seen    bool
	resets  *int64
	active  *int64
	passive *int64
}

// counterDelta returns a counter's change, or nil if it was not read.
func counterDelta(c sockstat.Counters, name string) *int64 {
	v, ok := c[name]
	if !ok {
		return nil
	}
	return &v
}

// watchResult makes the load's result of a watched command from what the
// kernel and the command's summary said: the requests, latency and
// errors from the summary, the connections from the kernel, and who
// closed each from where its TIME_WAIT appeared.
func watchResult(in *Input) (*loadgen.Result, watchFigures) {
	w := in.Watch
	var f watchFigures
	f.summary, f.hasTool = ParseToolSummary(string(w.Stdout.Tail), w.Command)
	if !f.hasTool {
		f.summary, f.hasTool = ParseToolSummary(string(w.Stderr.Tail), w.Command)
	}
	for i := range in.Samples {
		s := &in.Samples[i]
		f.clientTW += int64(s.ClientNewTimeWait)
		f.serverTW += int64(s.ServerNewTimeWait)
		open := s.Client.Total() + s.Server.Total() - int(s.Client[sockstat.TimeWait]+s.Server[sockstat.TimeWait])
		f.seen = f.seen || i > 0 && open > 0
	}
	if in.Remote != nil {
		f.serverTW = 0
		for i := range in.Remote.Samples {
			f.serverTW += int64(in.Remote.Samples[i].ServerNewTimeWait)
		}
	}
	if in.Counters != nil {
		f.active = counterDelta(in.Counters, "ActiveOpens")
		f.passive = counterDelta(in.Counters, "PassiveOpens")
		var n int64
		for _, k := range []string{"TCPAbortOnClose", "TCPAbortOnLinger", "TCPAbortOnData"} {
			n += max(in.Counters[k], 0)
		}
		f.resets = &n
	}
	res := &loadgen.Result{
		Start:       w.Start,
		Elapsed:     w.Wall,
		Interrupted: w.Interrupted,
		Connections: f.clientTW + f.serverTW,
		Closes:      loadgen.Closes{ClientFirst: f.clientTW, ServerFirst: f.serverTW},
		StatusCodes: map[int]int64{},
	}
	if w.TargetCloses != nil {
		res.Closes = *w.TargetCloses
	}
	switch {
	case w.Accepted != nil:
		res.Connections = *w.Accepted
	case f.active != nil:
		res.Connections = max(*f.active, 0)
	}
	if f.hasTool {
		res.Requests = f.summary.Requests
		if f.summary.Duration > 0 {
			res.Elapsed = f.summary.Duration
		}
	}
	// Little's law: the connections open at a time over the rate they
	// closed at is how long each lived.
	if closed := f.clientTW + f.serverTW; closed > 0 && w.Wall > 0 {
		open := meanOpen(in, w.Start, w.Start.Add(w.Wall))
		rate := float64(closed) / w.Wall.Seconds()
		res.ConnLifetime = time.Duration(open / rate * float64(time.Second) * float64(closed))
	}
	return res, f
}

// meanOpen is the mean count of the target's connections not yet in
// TIME_WAIT over the samples taken while the command ran, on the client
// end, or on the server end when the client end was not sampled.
func meanOpen(in *Input, from, to time.Time) float64 {
	var sum, n float64
	for i := range in.Samples {
		s := &in.Samples[i]
		if s.At.Before(from) || s.At.After(to) {
			continue
		}
		c := s.Client
		if in.ClientUnsampled != "" {
			c = s.Server
		}
		sum += float64(c.Total() - int(c[sockstat.TimeWait]))
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// finishWatch puts what a watched command did into r, over the figures
// Build derived as for twbench's own load.
func finishWatch(r *Run, in *Input, f watchFigures) {
	w := in.Watch
	wr := &Watch{
		Command:      append([]string(nil), w.Command...),
		Signal:       w.Signal,
		WallS:        round(w.Wall.Seconds(), 3),
		LatencyGiven: []string{},
		Connections: WatchConnections{ActiveOpens: f.active, PassiveOpens: f.passive, Accepted: w.Accepted,
			TimeWait: f.clientTW + f.serverTW, From: "time_wait"},
		Resets:  f.resets,
		Sources: map[string]string{},
		Output: WatchOutput{
			Stdout: lastLines(w.Stdout.Tail, OutputLines), Stderr: lastLines(w.Stderr.Tail, OutputLines),
			StdoutBytes: w.Stdout.Bytes, StderrBytes: w.Stderr.Bytes,
		},
	}
	if w.ExitCode >= 0 {
		code := w.ExitCode
		wr.ExitCode = &code
	}
	switch {
	case w.Accepted != nil:
		wr.Connections.From = "accepted"
	case f.active != nil:
		wr.Connections.From = "active_opens"
	}
	r.Watch = wr
	r.Throughput = []ThroughputPoint{} // its requests over time are not known
	r.LatencyHDR = ""
	src := wr.Sources
	if f.hasTool {
		s := f.summary
		wr.Tool = s.Tool
		wr.LatencyGiven = append(wr.LatencyGiven, s.Given...)
		r.Scenario.Concurrency = s.Concurrency
		r.LatencyUS = s.Latency
		r.Errors = map[string]int64{}
		for class, n := range s.Errors {
			r.Errors[class] = n
		}
		for code, n := range s.StatusCodes {
			r.StatusCodes[code] = n
		}
		r.QPS = round(s.Rate, 2)
		src["qps"] = s.Tool + "'s own rate"
		if failed := r.Errors; len(failed) > 0 && (len(failed) > 1 || failed["http_status"] == 0) && s.Duration > 0 {
			// The tool's rate counts its failed requests too; the run's
			// counts responses, as twbench's own does.
			r.QPS = round(float64(s.Requests)/s.Duration.Seconds(), 2)
			src["qps"] = "requests / duration, from " + s.Tool + "'s summary (its own rate counts failed requests too)"
		}
		for _, k := range []string{"requests", "errors", "latency_us", "duration_s"} {
			src[k] = s.Tool + "'s summary"
		}
		if given := strings.Join(s.Given, ", "); given != "" {
			src["latency_us"] = s.Tool + "'s summary: " + given
		}
		r.Notes = append(r.Notes, s.Notes...)
	} else {
		r.QPS = 0
		src["requests"] = "unknown: the command printed no summary of " + listWords(LoadTools(), "or")
		src["latency_us"], src["errors"], src["qps"] = src["requests"], src["requests"], src["requests"]
		src["duration_s"] = "the command's wall time"
	}
	closes := "new TIME_WAIT sockets on the target's ends: client_first the client end's, server_first the server end's (the end that sent the first FIN holds the TIME_WAIT); RSTs are in watch.resets"
	switch {
	case w.TargetCloses != nil:
		closes = "the built-in target, at each close: whether the client's FIN had arrived (the socket in CLOSE_WAIT) or not, or an RST; crossing FINs count as the server's"
	case w.Target == "":
		closes = "unknown: no target was watched"
	case !r.Server.Sampled:
		closes += "; the server end was not sampled, so server_first is unknown"
	}
	src["closes"] = closes
	switch wr.Connections.From {
	case "accepted":
		src["connections"] = "the connections twbench's built-in target accepted: exact, and the target's alone"
	case "active_opens":
		src["connections"] = "the kernel's ActiveOpens over the command's run: namespace-wide, other programs' connections count too"
	default:
		src["connections"] = "new TIME_WAIT sockets on the target's ends (the kernel's counters were not read): connections closed with a FIN"
	}
	src["resets"] = "the kernel's TCPAbortOnClose + TCPAbortOnLinger + TCPAbortOnData: namespace-wide"
	src["ports"] = "connection lifetime from Little's law: the target's connections open at a time (the mean over the samples) / the rate they closed at"
	if r.Requests == 0 && r.Closes.Total() > 0 {
		// Without the command's requests, the port figures are per
		// connection.
		in2 := *in
		res2 := *in.Result
		res2.Requests = res2.Closes.Total()
		in2.Result = &res2
		r.Ports = ports(in2, time.Duration(r.Ports.TimeWaitS*float64(time.Second)), r.Ports.TimeWaitMeasured)
		src["ports"] += "; per connection, the requests being unknown"
	}
	wr.FirstClose, wr.ClosesFrom = firstClose(f), "time_wait"
	if w.TargetCloses != nil {
		wr.FirstClose, wr.ClosesFrom = firstCloseOf(*w.TargetCloses), "target"
	}
	r.Notes = append(r.Notes, watchNotes(r, f)...)
}

// watchedConnections counts the connections of the --watch endpoints: the
// new TIME_WAIT on their ends.
func watchedConnections(r *Run) int64 {
	var n int64
	for _, w := range r.Watched {
		n += w.Client.NewTimeWait + w.Server.NewTimeWait
	}
	return n
}

// targetConnections is the best count of the target's connections: the
// run's, less the --watch endpoints' when the run's are the namespace's
// ActiveOpens (a proxy's upstream connections on this host count there
// too), but never below the TIME_WAIT seen on the target's ends; what the
// target's port accounts for when other traffic inflated ActiveOpens.
func targetConnections(r *Run) int64 {
	w := r.Watch
	switch {
	case w.Connections.From != "active_opens":
		return r.Connections
	case inflated(r):
		a := accountFor(r)
		return a.seen + a.open
	}
	return max(r.Connections-watchedConnections(r), w.Connections.TimeWait)
}

// dominantShare is the share of the closes one end must have for the
// report to say that end closed first.
const dominantShare = 0.95
