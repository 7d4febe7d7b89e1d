package report

import (
	"fmt"
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

// firstClose names the end that closed first, from the new TIME_WAIT on
// each end. RSTs decide only when there was no TIME_WAIT at all and the
// target had connections, as the counters are the whole namespace's.
func firstClose(f watchFigures) string {
	c, s := f.clientTW, f.serverTW
	switch {
	case c+s == 0 && f.seen && f.resets != nil && *f.resets > 0:
		return "reset"
	case c+s == 0:
		return "none"
	case float64(c) >= dominantShare*float64(c+s):
		return string(loadgen.CloserClient)
	case float64(s) >= dominantShare*float64(c+s):
		return string(loadgen.CloserServer)
	}
	return "mixed"
}

// firstCloseOf names the end that closed first from closes counted per
// connection.
func firstCloseOf(c loadgen.Closes) string {
	total := c.Total()
	switch {
	case total == 0:
		return "none"
	case float64(c.ClientFirst) >= dominantShare*float64(total):
		return string(loadgen.CloserClient)
	case float64(c.ServerFirst) >= dominantShare*float64(total):
		return string(loadgen.CloserServer)
	case float64(c.ClientRST+c.ServerRST) >= dominantShare*float64(total):
		return "reset"
	}
	return "mixed"
}

// accounted are the connections the samples and counters account for,
// to cross-check the namespace's ActiveOpens with: the target's (new
// TIME_WAIT on its ends, sockets open on its client end at the end), the
// --watch endpoints' (their new TIME_WAIT), and the namespace's resets.
type accounted struct{ seen, open, watched, resets int64 }

func accountFor(r *Run) accounted {
	a := accounted{seen: r.Watch.Connections.TimeWait, watched: watchedConnections(r)}
	for st, k := range r.Client.Final {
		if st != sockstat.TimeWait.String() {
			a.open += int64(k)
		}
	}
	if r.Watch.Resets != nil {
		a.resets = *r.Watch.Resets
	}
	return a
}

func (a accounted) total() int64 { return a.seen + a.open + a.watched + a.resets }

// inflated reports whether the run's connections are the namespace's
// ActiveOpens and hold more than the target's and the --watch endpoints'
// connections and the resets account for: other traffic's.
func inflated(r *Run) bool {
	w := r.Watch
	if w.Connections.From != "active_opens" || !r.Client.Sampled || !r.Server.Sampled {
		return false
	}
	a := accountFor(r)
	return float64(r.Connections-a.total()) > 0.01*float64(a.total())+10
}

// watchNotes warn where the namespace-wide counters count more than the
// target's connections, and where samples missed TIME_WAIT sockets, and
// say how the command ended.
func watchNotes(r *Run, f watchFigures) []string {
	var notes []string
	w := r.Watch
	seen := f.clientTW + f.serverTW
	a := accountFor(r)
	switch {
	case f.active == nil:
	case w.Connections.Accepted != nil:
		if n := *w.Connections.Accepted; float64(*f.active) > 1.01*float64(n)+10 {
			notes = append(notes, fmt.Sprintf("the kernel's counters are the whole network namespace's: ActiveOpens rose by %s while the target accepted %s connections; other traffic on this host counts in them",
				commas(*f.active), commas(n)))
		}
	case inflated(r):
		also := ""
		if a.watched > 0 {
			also = fmt.Sprintf(", the --watch endpoints for %s (their new TIME_WAIT)", commas(a.watched))
		}
		notes = append(notes, fmt.Sprintf("the kernel's counters are the whole network namespace's: ActiveOpens rose by %s while the target's port accounts for %s (%s new TIME_WAIT on its ends, %s sockets open at the end)%s and resets for %s more (namespace-wide), so other traffic on this host inflated connections; watch.connections.time_wait counts the target's port alone",
			commas(*f.active), commas(a.seen+a.open), commas(a.seen), commas(a.open), also, commas(a.resets)))
	case a.watched > 0:
		notes = append(notes, fmt.Sprintf("the kernel's ActiveOpens (%s) counts the --watch endpoints' connections made from this host too: %s new TIME_WAIT on their ends; the target's connections are about %s",
			commas(*f.active), commas(a.watched), commas(targetConnections(r))))
	}
	if conns := targetConnections(r); !inflated(r) && r.Client.Sampled && r.Server.Sampled && (w.FirstClose == "client" || w.FirstClose == "server") &&
		float64(seen) < 0.98*float64(conns) {
		msg := fmt.Sprintf("%s of the %s connections left no TIME_WAIT that a sample saw", commas(conns-seen), commas(conns))
		if w.FirstClose == "server" {
			msg += ": a new connection from the same client port takes a server's TIME_WAIT socket over (on loopback a port comes round again within seconds), and one taken over between two samples is missed"
		} else {
			msg += ": connect() takes a client's TIME_WAIT port back after tcp_tw_reuse_delay on loopback, and one taken back between two samples is missed"
		}
		if r.Sampling != nil {
			msg += fmt.Sprintf(" (they were %s apart on average)", seconds(r.Sampling.MeanIntervalS))
		}
		if tw, ok := r.KernelCounters["TW"]; ok {
			msg += fmt.Sprintf("; the kernel created %s TIME_WAIT sockets in the namespace meanwhile (TcpExt TW)", commas(tw))
		}
		notes = append(notes, msg)
	}
	switch {
	case r.Interrupted:
	case w.Signal != "":
		notes = append(notes, "the command was ended by "+w.Signal)
	case w.ExitCode != nil && *w.ExitCode != 0:
		notes = append(notes, fmt.Sprintf("the command exited with status %d", *w.ExitCode))
	}
	return notes
}

// listWords writes words as a list for a sentence: "ab, wrk, hey or oha".
func listWords(words []string, last string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + last + " " + words[len(words)-1]
}

// explainWatch says which end held the TIME_WAIT of a watched command's
// connections and which end closed them first, per connection: what
// twbench saw of them is their TIME_WAIT, not their requests.
func explainWatch(r *Run) string {
	c, s, w := &r.Client, &r.Server, r.Watch
	var held string
	switch {
	case w.Connections.TimeWait == 0 && !c.Sampled && !s.Sampled:
		held = "socket states were not sampled (" + firstNonEmpty(c.Reason, s.Reason) + ")"
	case !s.Sampled:
		held = fmt.Sprintf("the client end had %s TIME_WAIT at peak, %s new (the server end was not sampled: %s)",
			commas(int64(c.Peak["TIME_WAIT"])), commas(c.NewTimeWait), s.Reason)
	default:
		held = whoHeldConnections(r)
	}
	// The closes are the built-in target's, per connection, or else the
	// new TIME_WAIT's, which a sample may miss.
	closed, how := w.Connections.TimeWait, "as the end their TIME_WAIT appeared on shows"
	if w.ClosesFrom == "target" {
		closed, how = r.Closes.Total(), "as the built-in target saw each close"
	}
	conns := commas(closed) + " connection"
	if closed != 1 {
		conns += "s"
	}
	if n := targetConnections(r); n > closed && w.ClosesFrom != "target" {
		conns = "the " + conns + " whose TIME_WAIT a sample saw (of " + commas(n) + ")"
	}
	var why string
	switch w.FirstClose {
	case string(loadgen.CloserClient), string(loadgen.CloserServer):
		spec, _ := loadgen.Closer(w.FirstClose).Spec()
		n := r.Closes.ClientFirst
		if w.FirstClose == string(loadgen.CloserServer) {
			n = r.Closes.ServerFirst
		}
		why = fmt.Sprintf("; %s came first on %s of %s, %s", spec.First, percent(n, closed), conns, how)
		if r.Requests > 0 && closed > 0 && float64(r.Requests) >= 2*float64(closed) {
			why += fmt.Sprintf(", and they were kept alive for %s requests each", commasFloat(float64(r.Requests)/float64(closed), 0))
		}
	case "mixed":
		why = fmt.Sprintf("; the first FIN was the client's on %s and the server's on %s of %s, %s",
			percent(r.Closes.ClientFirst, closed), percent(r.Closes.ServerFirst, closed), conns, how)
	case "reset":
		if n := r.Closes.ClientRST + r.Closes.ServerRST; n > 0 {
			why = fmt.Sprintf("; %s of %s were closed with an RST (client %s, server %s), which leaves no TIME_WAIT",
				percent(n, closed), conns, commas(r.Closes.ClientRST), commas(r.Closes.ServerRST))
		} else {
			why = fmt.Sprintf("; no connection left a TIME_WAIT, and the kernel counted %s closed with an RST (SO_LINGER 0, or unread data), which leaves none",
				commas(*w.Resets))
		}
	case "none":
		why = "; no connection to the target closed while the command ran"
	}
	msg := held + why + portCost(r) + "."
	if failed := failures(r); failed != "" {
		msg += " " + strings.ToUpper(failed[:1]) + failed[1:] + "."
	}
	return msg
}

// whoHeldConnections says which end held the TIME_WAIT, per connection
// closed.
func whoHeldConnections(r *Run) string {
	c, s := &r.Client, &r.Server
	cn, sn := c.NewTimeWait, s.NewTimeWait
	cPeak, sPeak := commas(int64(c.Peak["TIME_WAIT"])), commas(int64(s.Peak["TIME_WAIT"]))
	per := func(n int64) string {
		return fmt.Sprintf("%.2f", float64(n)/float64(max(targetConnections(r), cn+sn, 1)))
	}
	switch {
	case cn+sn == 0:
		return "neither end gained a TIME_WAIT socket"
	case sn >= 20*cn:
		return fmt.Sprintf("the server held the TIME_WAIT (%s new, %s per connection; %s at peak), the client %s (%s at peak)",
			commas(sn), per(sn), sPeak, commas(cn), cPeak)
	case cn >= 20*sn:
		return fmt.Sprintf("the client held the TIME_WAIT (%s new, %s per connection; %s at peak), the server %s (%s at peak)",
			commas(cn), per(cn), cPeak, commas(sn), sPeak)
	}
	return fmt.Sprintf("both ends held TIME_WAIT (client %s new, %s at peak; server %s new, %s at peak)",
		commas(cn), cPeak, commas(sn), sPeak)
}

// CommandLine writes a command for people, quoting the arguments a shell
// would split, cut to at most n bytes.
func CommandLine(argv []string, n int) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		parts[i] = a
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]{}()<>|&;#~") {
			parts[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	line := strings.Join(parts, " ")
	if len(line) > n {
		line = strings.ToValidUTF8(line[:n], "") + "…"
	}
	return line
}

// watchDetails says how the command ended and where the figures came
// from.
func watchDetails(r *Run) string {
	w := r.Watch
	ended := "exited 0"
	switch {
	case w.Signal != "":
		ended = "was ended by " + w.Signal
	case w.ExitCode == nil:
		ended = "did not end"
	case *w.ExitCode != 0:
		ended = fmt.Sprintf("exited %d", *w.ExitCode)
	}
	msg := fmt.Sprintf("the command %s after %s", ended, seconds(w.WallS))
	if w.Tool != "" {
		msg += "; requests, qps, latency and errors are " + w.Tool + "'s"
	} else {
		msg += "; it printed no summary of " + listWords(LoadTools(), "or") + ", so requests, qps and latency are unknown"
	}
	switch w.Connections.From {
	case "accepted":
		msg += "; connections are those the built-in target accepted"
	case "active_opens":
		msg += "; connections are the kernel's ActiveOpens (namespace-wide)"
	default:
		msg += "; connections are the new TIME_WAIT on the target's ends"
	}
	if w.ClosesFrom == "target" {
		return msg + ", and who closed first is as the target saw each close"
	}
	return msg + ", and who closed first is where their TIME_WAIT appeared"
}
