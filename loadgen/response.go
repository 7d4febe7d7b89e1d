package loadgen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

// Defaults for the bounds on a response.
const (
	// DefaultMaxHeaderBytes bounds a response's header block: net/http's
	// default for a server's, and room for the 4.5 KB
	// Content-Security-Policy headers that sites send.
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultMaxBodyBytes bounds a response's body. Bodies are discarded as
	// they arrive, so the bound costs no memory: it makes a body that never
	// ends an error of its own, within a fraction of a second on loopback,
	// rather than a timeout.
	DefaultMaxBodyBytes = 64 << 20
)

// responseReader reads HTTP/1.x responses from a connection, one at a
// time, keeping only what the client needs of each: its status and whether
// the server will close the connection after it. Bodies are discarded as
// they arrive; the header block and the body are each bounded. It parses by
// hand, not with fasthttp's Response, whose header must fit its read
// buffer (4 KiB, or that much memory per connection for a larger bound) and
// whose body is held whole in memory, a Content-Length's worth at once.
//
// It looks at three headers: Content-Length, Transfer-Encoding and
// Connection. A line of one of them longer than the reader's buffer is a
// bad response; any other line may be as long as the header bound, and is
// read through the buffer a bufferful at a time. Nothing is allocated
// unless the response is refused.
type responseReader struct {
	br        *bufio.Reader
	maxHeader int
	maxBody   int64

	// Of the last response read:
	status int
	close  bool // the server closes the connection after it

	left int // of maxHeader, while a response's header is read
}

// headerTooLargeError is a response whose header block passed its bound.
type headerTooLargeError struct{ max int }

func (e *headerTooLargeError) Error() string {
	return fmt.Sprintf("response header over %d bytes, the maximum header size", e.max)
}

// bodyTooLargeError is a response whose body passed its bound: by its
// Content-Length (length), or by the bytes read (length -1).
type bodyTooLargeError struct{ max, length int64 }

func (e *bodyTooLargeError) Error() string {
	switch e.length {
	case -1:
		return fmt.Sprintf("response body over %d bytes, the maximum body size", e.max)
	case math.MaxInt64:
		return fmt.Sprintf("response body's Content-Length past 2^63 bytes, over the maximum body size of %d", e.max)
	}
	return fmt.Sprintf("response body of %d bytes (Content-Length), over the maximum body size of %d", e.length, e.max)
}

// badResponse returns a bad response error that quotes at most 64 bytes of
// what the server sent.
func badResponse(what string, got []byte) error {
	if len(got) > 64 {
		return &badResponseError{fmt.Errorf("%s %q...", what, got[:64])}
	}
	return &badResponseError{fmt.Errorf("%s %q", what, got)}
}

// read reads one response, discarding its body. A server that closes
// before the response's first byte gives io.EOF; one that closes during it
// io.ErrUnexpectedEOF.
func (p *responseReader) read() error {
	p.left = p.maxHeader
	var h header
	for first := true; ; first = false {
		line, whole, err := p.line()
		if err != nil {
			if first && err == io.ErrUnexpectedEOF && p.left == p.maxHeader {
				return io.EOF // nothing at all: the server closed
			}
			return err
		}
		h = header{contentLength: -1}
		if err := h.statusLine(line); err != nil {
			return err
		}
		if h.status == 101 {
			return badResponse("a switch of protocols, to a request that asked for none:", line)
		}
		if !whole {
			if err := p.dropRest(); err != nil {
				return err
			}
		}
		if err := p.fields(&h); err != nil {
			return err
		}
		if h.status >= 200 {
			break
		}
		// An interim response (100 Continue, 103 Early Hints): its header
		// counts against the same bound, and the final one follows.
	}
	p.status = h.status
	// A response with both a Transfer-Encoding and a Content-Length may be
	// an attempt at response splitting: its connection is not reused.
	p.close = h.closes || (h.http10 && !h.keepAlive) || (h.transferEncoding && h.contentLength >= 0)
	switch {
	case h.status == 204 || h.status == 304:
		return nil
	case h.chunked:
		return p.chunkedBody()
	case h.transferEncoding:
		// Not chunked at the end: the body runs to the server's close.
	case h.contentLength >= 0:
		if h.contentLength > p.maxBody {
			return &bodyTooLargeError{p.maxBody, h.contentLength}
		}
		return discard(p.br, h.contentLength)
	}
	p.close = true
	return p.bodyToEOF()
}

// header is what the client reads of a response's header.
type header struct {
	status           int
	http10           bool
	contentLength    int64 // -1 without one; math.MaxInt64 past it
	transferEncoding bool
	chunked          bool // the last transfer coding is chunked
	closes           bool // Connection: close
	keepAlive        bool // Connection: keep-alive
	framing          bool // the last field was one of the three above
}

// statusLine parses "HTTP/1.x SSS reason".
func (h *header) statusLine(line []byte) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || (line[7] != '0' && line[7] != '1') ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return badResponse("status line", line)
	}
	h.http10 = line[7] == '0'
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return badResponse("status line", line)
		}
		h.status = h.status*10 + int(c-'0')
	}
	if h.status < 100 {
		return badResponse("status line", line)
	}
	return nil
}

// fields reads header fields up to the empty line that ends them.
func (p *responseReader) fields(h *header) error {
	for {
		line, whole, err := p.line()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		if err := h.field(line, whole); err != nil {
			return err
		}
		if !whole {
			if err := p.dropRest(); err != nil {
				return err
			}
		}
	}
}

// field takes in one header line, or the head of one too long for the
// buffer (whole false).
func (h *header) field(line []byte, whole bool) error {
	if line[0] == ' ' || line[0] == '\t' {
		// A continuation of the last field (obsolete line folding): of no
		// interest unless that field was one that frames the response.
		if h.framing {
			return badResponse("a folded line in a Content-Length, Transfer-Encoding or Connection field:", line)
		}
		return nil
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
		return badResponse("header line", line)
	}
	name, value := line[:colon], trimSpace(line[colon+1:])
	h.framing = true
	switch {
	case !whole && (equalFold(name, "Content-Length") || equalFold(name, "Transfer-Encoding") || equalFold(name, "Connection")):
		return badResponse("a field longer than the read buffer:", name)
	case equalFold(name, "Content-Length"):
		n, ok := parseLength(value)
		if !ok || (h.contentLength >= 0 && n != h.contentLength) {
			return badResponse("Content-Length", value)
		}
		h.contentLength = n
	case equalFold(name, "Transfer-Encoding"):
		h.transferEncoding = true
		last := value
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			last = trimSpace(value[i+1:])
		}
		h.chunked = equalFold(last, "chunked")
	case equalFold(name, "Connection"):
		for len(value) > 0 {
			token := value
			if i := bytes.IndexByte(value, ','); i >= 0 {
				token, value = value[:i], value[i+1:]
			} else {
				value = nil
			}
			token = trimSpace(token)
			h.closes = h.closes || equalFold(token, "close")
			h.keepAlive = h.keepAlive || equalFold(token, "keep-alive")
		}
	default:
		h.framing = false
	}
	return nil
}

// parseLength parses a Content-Length: decimal digits, capped at
// math.MaxInt64 (a length past it is past any bound).
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
			continue
		}
		n = n*10 + d
	}
	return n, true
}

// line reads the next header line and returns it without its end (LF or
// CRLF). A line longer than the buffer is returned in part (whole false):
// its head, valid until dropRest reads the rest. Every byte read counts
// against the header bound.
func (p *responseReader) line() (line []byte, whole bool, err error) {
	b, err := p.br.ReadSlice('\n')
	if p.left -= len(b); p.left < 0 {
		return nil, false, &headerTooLargeError{p.maxHeader}
	}
	switch err {
	case nil:
		b = b[:len(b)-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
		return b, true, nil
	case bufio.ErrBufferFull:
		return b, false, nil
	case io.EOF:
		return nil, false, io.ErrUnexpectedEOF
	}
	return nil, false, err
}

// dropRest reads the rest of a line longer than the buffer, counting it
// against the header bound.
func (p *responseReader) dropRest() error {
	for {
		b, err := p.br.ReadSlice('\n')
		if p.left -= len(b); p.left < 0 {
			return &headerTooLargeError{p.maxHeader}
		}
		switch err {
		case nil:
			return nil
		case bufio.ErrBufferFull:
		case io.EOF:
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
}

// chunkedBody discards a chunked body; its trailer fields count against
// the header bound, which p.left still holds.
func (p *responseReader) chunkedBody() error {
	var total int64
	for {
		b, err := p.br.ReadSlice('\n')
		switch err {
		case nil:
		case bufio.ErrBufferFull:
			return badResponse("chunk size line longer than the read buffer:", b)
		case io.EOF:
			return io.ErrUnexpectedEOF
		default:
			return err
		}
		size, ok := chunkSize(b)
		if !ok {
			return badResponse("chunk size line", bytes.TrimRight(b, "\r\n"))
		}
		if size == 0 {
			// The trailer section: fields, then an empty line.
			var h header
			return p.fields(&h)
		}
		if size > p.maxBody-total {
			return &bodyTooLargeError{p.maxBody, -1}
		}
		total += size
		if err := discard(p.br, size); err != nil {
			return err
		}
		b, err = p.br.ReadSlice('\n')
		switch {
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err == bufio.ErrBufferFull:
			return badResponse("chunk not followed by CRLF:", b)
		case err != nil:
			return err
		case string(b) != "\r\n" && string(b) != "\n":
			return badResponse("chunk not followed by CRLF:", b)
		}
	}
}

// chunkSize parses a chunk size line: hexadecimal digits, then optional
// extensions (";..."), which are ignored. A size past 2^63 is capped.
func chunkSize(line []byte) (int64, bool) {
	var n int64
	digits := 0
	for _, c := range line {
		var d int64
		switch {
		case c >= '0' && c <= '9':
			d = int64(c - '0')
		case c >= 'a' && c <= 'f':
			d = int64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = int64(c-'A') + 10
		case c == ';' || c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return n, digits > 0
		default:
			return 0, false
		}
		digits++
		if n > (math.MaxInt64-d)/16 {
			n = math.MaxInt64
			continue
		}
		n = n*16 + d
	}
	return n, digits > 0
}

// bodyToEOF discards a body that runs to the server's close.
func (p *responseReader) bodyToEOF() error {
	n, err := p.br.Discard(int(min(p.maxBody, math.MaxInt-1)) + 1)
	switch {
	case int64(n) > p.maxBody:
		return &bodyTooLargeError{p.maxBody, -1}
	case err == io.EOF:
		return nil
	}
	return err
}

// discard discards n bytes of a body; the server's close before the last
// is an unexpected EOF.
func discard(br *bufio.Reader, n int64) error {
	for n > 0 {
		step := int(min(n, math.MaxInt32))
		got, err := br.Discard(step)
		n -= int64(got)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b is s, ignoring ASCII case, without
// allocating.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c, d := b[i], s[i]
		if c|0x20 != d|0x20 || (c|0x20 < 'a' || c|0x20 > 'z') && c != d {
			return false
		}
	}
	return true
}
