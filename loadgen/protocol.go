package loadgen

// Protocol is what the client speaks on a connection.
type Protocol string

const (
	// HTTP10 sends "GET / HTTP/1.0" with no Connection header and reads the
	// response until the server closes: what ab does without -k.
	HTTP10 Protocol = "http1.0"
	// HTTP11 keeps connections alive unless the closer ends them after each
	// request.
	HTTP11 Protocol = "http1.1"
	// TCP writes a request of RequestSize bytes and reads a response of
	// ResponseSize bytes: no framing, both ends know the lengths.
	TCP Protocol = "tcp"
	// Connect opens a connection and closes it: the handshake is the
	// request.
	Connect Protocol = "connect"
)

// protocolSpec is what a protocol is, defined once.
type protocolSpec struct {
	protocol Protocol
	summary  string // a few words for flag help, "" if the name says it
	scheme   string // the target URL scheme it takes
}

// protocolTable lists the protocols in the order lists give them. It is
// read, never written.
var protocolTable = []protocolSpec{
	{HTTP10, "no keep-alive, read to EOF, as ab", "http"},
	{HTTP11, "", "http"},
	{TCP, "raw bytes", "tcp"},
	{Connect, "handshake, close", "tcp"},
}

// Protocols lists the protocols this version drives.
func Protocols() []Protocol {
	ps := make([]Protocol, len(protocolTable))
	for i, s := range protocolTable {
		ps[i] = s.protocol
	}
	return ps
}

// Valid reports whether p is a protocol this version drives.
func (p Protocol) Valid() bool {
	for _, s := range protocolTable {
		if s.protocol == p {
			return true
		}
	}
	return false
}

// Scheme returns the target URL scheme protocol p takes.
func (p Protocol) Scheme() string {
	for _, s := range protocolTable {
		if s.protocol == p {
			return s.scheme
		}
	}
	return "http"
}

// ProtocolHelp describes every protocol for flag help: "http1.0 (no
// keep-alive, ...), http1.1, tcp (raw bytes) or connect (...)".
func ProtocolHelp() string {
	parts := make([]string, len(protocolTable))
	for i, s := range protocolTable {
		parts[i] = withHint(string(s.protocol), s.summary)
	}
	return sentence(parts, "or")
}

// listProtocols writes the protocols as a list for a sentence, the last
// joined by word.
func listProtocols(word string) string {
	ps := Protocols()
	words := make([]string, len(ps))
	for i, p := range ps {
		words[i] = string(p)
	}
	return sentence(words, word)
}
