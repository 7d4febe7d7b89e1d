package report

import (
	"fmt"
	"strings"

	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/sockstat"
)

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
