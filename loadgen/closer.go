package loadgen

import (
	"fmt"
	"strings"

	"github.com/twbench/twbench/target"
)

// Closer is the end that sends the first FIN (or RST) of each connection.
// Each closer is defined once, in closerTable: what it does, the
// protocols it works with, the built-in target's policy for it, and the
// words a report uses to explain it. Flag help, errors and the docs take
// their lists from there.
type Closer string

const (
	// CloserClient closes each connection as soon as its response is read,
	// while the server still holds it open: the client's FIN comes first
	// and the TIME_WAIT is the client's.
	CloserClient Closer = "client"
	// CloserServer asks the server to close ("Connection: close", or
	// HTTP/1.0) and waits for its EOF before closing: the server's FIN comes
	// first and the TIME_WAIT is the server's.
	CloserServer Closer = "server"
	// CloserClientRST closes each connection with SO_LINGER {1, 0}: the
	// client sends RST, and neither end keeps a TIME_WAIT.
	CloserClientRST Closer = "client-rst"
	// CloserServerRST waits for the server to close as with CloserServer;
	// against the built-in target the server closes with RST.
	CloserServerRST Closer = "server-rst"
	// CloserNone keeps a pool of connections alive and closes them (client
	// first) only at the end of the run.
	CloserNone Closer = "none"
)

// CloserSpec is what a closer means.
type CloserSpec struct {
	Closer Closer
	// Summary says in a line what the closer does and where the TIME_WAIT
	// goes, for plans and lists.
	Summary string
	// Hint says in a word or two what the name does not, for flag help;
	// "" if the name says it all.
	Hint string
	// First names the packet that starts each connection's close when the
	// closer has its way: "the client's FIN".
	First string
	// ServerPolicy is what the built-in target does after a response so
	// that the closer's end closes first.
	ServerPolicy target.Policy
	// KeepsAlive is set for the closer that closes nothing until the run
	// ends.
	KeepsAlive bool

	// how says, per protocol the closer works with, how the workload made
	// its end close first: the report's "because ..." clause. {after}
	// stands for " after N requests" when connections carry more than one,
	// {each} for the requests each kept-alive connection carried.
	how map[Protocol]string
	// halfClose replaces how when the client half-closes (closer client).
	halfClose string
	// unsupported says, per protocol the closer does not work with, why.
	unsupported map[Protocol]string
	// closes picks the closes the closer asks for out of a run's.
	closes func(Closes) int64
}

// closerTable is the one definition of every closer, in the order lists
// give them. It is read, never written.
var closerTable = []CloserSpec{
	{
		Closer:       CloserClient,
		Summary:      "the client closes after the response (TIME_WAIT on the client)",
		First:        "the client's FIN",
		ServerPolicy: target.KeepAlive,
		how: map[Protocol]string{
			HTTP11:  "it closed each one as soon as the response was read{after}, while the server still held it open",
			TCP:     "it closed each one as soon as the response was read{after}, while the server still held it open",
			Connect: "it closed each one right after the handshake",
		},
		halfClose: "its shutdown(SHUT_WR) after the request was that FIN; the server read it, answered and closed, " +
			"and the client closed last yet holds the TIME_WAIT, which follows the first FIN, not the first close()",
		unsupported: map[Protocol]string{HTTP10: needsKeepAlive},
		closes:      func(c Closes) int64 { return c.ClientFirst },
	},
	{
		Closer:       CloserServer,
		Summary:      "the server closes first (TIME_WAIT on the server), as with ab",
		First:        "the server's FIN",
		ServerPolicy: target.Close,
		how: map[Protocol]string{
			HTTP10:  "http1.0 without keep-alive is read to EOF, as ab does, so the server is the active closer",
			HTTP11:  "the client sent Connection: close{after} and waited for the server's EOF",
			TCP:     "it closed after its response{after}, and the client waited for its EOF",
			Connect: "it closed each connection as soon as it accepted it, and the client waited for its EOF",
		},
		closes: func(c Closes) int64 { return c.ServerFirst },
	},
	{
		Closer:       CloserClientRST,
		Summary:      "the client resets with SO_LINGER 0 (no TIME_WAIT on either end)",
		Hint:         "SO_LINGER 0",
		First:        "the client's RST",
		ServerPolicy: target.KeepAlive,
		how: map[Protocol]string{
			HTTP11: "it reset each one as soon as the response was read{after}", TCP: "it reset each one as soon as the response was read{after}",
			Connect: "it reset each one right after the handshake",
		},
		unsupported: map[Protocol]string{HTTP10: needsKeepAlive},
		closes:      func(c Closes) int64 { return c.ClientRST },
	},
	{
		Closer:       CloserServerRST,
		Summary:      "the server resets (the built-in target; no TIME_WAIT on either end)",
		Hint:         "the built-in target resets",
		First:        "the server's RST",
		ServerPolicy: target.Reset,
		how: map[Protocol]string{
			HTTP10: "the server reset each one after its response", HTTP11: "the server reset each one after its response{after}",
			TCP: "the server reset each one after its response{after}", Connect: "the server reset each one as soon as it accepted it",
		},
		closes: func(c Closes) int64 { return c.ServerRST },
	},
	{
		Closer:       CloserNone,
		Summary:      "keep-alive: connections are reused, closed by the client at the end",
		Hint:         "keep-alive",
		First:        "the client's FIN, at the end of the run",
		ServerPolicy: target.KeepAlive,
		KeepsAlive:   true,
		how: map[Protocol]string{
			HTTP11: "they were kept alive, {each} each, and closed by twbench when the load stopped",
			TCP:    "they were kept alive, {each} each, and closed by twbench when the load stopped",
		},
		unsupported: map[Protocol]string{
			HTTP10:  needsKeepAlive,
			Connect: "keeps connections open for requests, and connect sends none",
		},
		closes: func(c Closes) int64 { return c.ClientFirst },
	},
}

const needsKeepAlive = "needs keep-alive, which http1.0 does not have: use http1.1"

// Closers lists every closer.
func Closers() []Closer {
	cs := make([]Closer, len(closerTable))
	for i, s := range closerTable {
		cs[i] = s.Closer
	}
	return cs
}

// Spec returns what c means; ok is false for an unknown closer.
func (c Closer) Spec() (spec CloserSpec, ok bool) {
	for _, s := range closerTable {
		if s.Closer == c {
			return s, true
		}
	}
	return CloserSpec{}, false
}

// Valid reports whether c is a closer.
func (c Closer) Valid() bool {
	_, ok := c.Spec()
	return ok
}

// ServerPolicy returns the built-in target's policy for closer c: it
// closes for server, resets for server-rst, and otherwise keeps
// connections alive so that the client can close first.
func (c Closer) ServerPolicy() target.Policy {
	s, _ := c.Spec()
	if s.ServerPolicy == "" {
		return target.KeepAlive
	}
	return s.ServerPolicy
}

// Asked returns the connections of c that closed as closer s asks.
func (s CloserSpec) Asked(c Closes) int64 { return s.closes(c) }

// How says how the workload made the closer's end close first, for a
// report's "because ..." clause; "" if the closer does not work with p.
// perConn is the requests per connection, each the requests each
// kept-alive connection carried, as the report writes them.
func (s CloserSpec) How(p Protocol, perConn int, halfClose bool, each string) string {
	text := s.how[p]
	if halfClose && s.halfClose != "" {
		text = s.halfClose
	}
	after := ""
	if perConn > 1 {
		after = fmt.Sprintf(" after %s requests", groupThousands(perConn))
	}
	return strings.NewReplacer("{after}", after, "{each}", each).Replace(text)
}

// ListClosers writes closers as a list for a sentence: "client, server or
// none"; with "" as the last word, comma-separated only.
func ListClosers(cs []Closer, last string) string {
	words := make([]string, len(cs))
	for i, c := range cs {
		words[i] = string(c)
	}
	return sentence(words, last)
}

// sentence joins words with commas, the last two with last ("or",
// "and"); with last "", commas only.
func sentence(words []string, last string) string {
	if last == "" || len(words) < 2 {
		return strings.Join(words, ", ")
	}
	return strings.Join(words[:len(words)-1], ", ") + " " + last + " " + words[len(words)-1]
}

// ClosersFor lists the closers that work with protocol p.
func ClosersFor(p Protocol) []Closer {
	var cs []Closer
	for _, s := range closerTable {
		if _, ok := s.how[p]; ok {
			cs = append(cs, s.Closer)
		}
	}
	return cs
}

// ClosingClosers lists the closers that close connections during the run,
// after RequestsPerConn requests: every one but keep-alive's.
func ClosingClosers() []Closer {
	var cs []Closer
	for _, s := range closerTable {
		if !s.KeepsAlive {
			cs = append(cs, s.Closer)
		}
	}
	return cs
}

// CloserHelp lists every closer for flag help: "client, server,
// client-rst (SO_LINGER 0), ... or none (keep-alive)".
func CloserHelp() string {
	parts := make([]string, len(closerTable))
	for i, s := range closerTable {
		parts[i] = withHint(string(s.Closer), s.Hint)
	}
	return sentence(parts, "or")
}

// Supports reports whether protocol p can be driven with closer c, and if
// not, why.
func Supports(p Protocol, c Closer) error {
	if !p.Valid() {
		return fmt.Errorf("unknown protocol %q (want %s)", p, listProtocols("or"))
	}
	s, ok := c.Spec()
	if !ok {
		return fmt.Errorf("unknown closer %q (want one of %s)", c, ListClosers(Closers(), ""))
	}
	if _, ok := s.how[p]; ok {
		return nil
	}
	return fmt.Errorf("closer %q %s (closers for %s: %s)", c, s.unsupported[p], p, ListClosers(ClosersFor(p), "or"))
}

// withHint writes a name with its hint in parentheses, if it has one.
func withHint(name, hint string) string {
	if hint == "" {
		return name
	}
	return name + " (" + hint + ")"
}

// groupThousands writes n with commas between groups of three digits.
func groupThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
