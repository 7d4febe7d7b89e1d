package loadgen

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/valyala/fasthttp"
)

func TestReadResponse(t *testing.T) {
	const rest = "NEXT"
	long := strings.Repeat("a", 5000)
	for _, tc := range []struct {
		name   string
		in     string
		status int
		close  bool
		err    string // a class name, or part of the message
		maxHdr int
		maxBdy int64
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false, "", 0, 0},
		{"no reason phrase", "HTTP/1.1 204\r\n\r\n", 204, false, "", 0, 0},
		{"LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 200, false, "", 0, 0},
		{"names in any case, spaces around values", "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh:  2 \t\r\n\r\nok", 200, false, "", 0, 0},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nok", 200, true, "", 0, 0},
		{"connection tokens", "HTTP/1.1 200 OK\r\nConnection: upgrade , close\r\nContent-Length: 0\r\n\r\n", 200, true, "", 0, 0},
		{"http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, true, "", 0, 0},
		{"http/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", 200, false, "", 0, 0},
		{"body to EOF", "HTTP/1.1 200 OK\r\n\r\nall of it NEXT", 200, true, "", 0, 0},
		{"body to EOF at the bound", "HTTP/1.0 200 OK\r\n\r\n0123456789NEXT", 200, true, "", 0, 14},
		{"body to EOF past the bound", "HTTP/1.0 200 OK\r\n\r\n0123456789NEXT", 0, false, "body_too_large", 0, 13},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nA;ext=1\r\n0123456789\r\n0\r\n\r\n", 200, false, "", 0, 0},
		{"chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n", 200, false, "", 0, 0},
		{"chunked, last coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, false, "", 0, 0},
		{"chunked at the bound", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 200, false, "", 0, 10},
		{"chunked past the bound", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", 0, false, "body_too_large", 0, 10},
		{"chunk size past 2^63", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n", 0, false, "body_too_large", 0, 0},
		{"a coding other than chunked runs to EOF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzNEXT", 200, true, "", 0, 0},
		{"transfer-encoding overrides content-length, and closes", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 200, true, "", 0, 0},
		{"content-length past the bound", "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n", 0, false, "response body of 100000000000 bytes (Content-Length), over the maximum body size of 67108864", 0, 0},
		{"content-length past 2^63", "HTTP/1.1 200 OK\r\nContent-Length: 100000000000000000000000\r\n\r\n", 0, false, "past 2^63", 0, 0},
		{"content-length at the bound", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 200, false, "", 0, 10},
		{"equal content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 200, false, "", 0, 0},
		{"different content-lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", 0, false, "bad_response", 0, 0},
		{"content-length not a number", "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok", 0, false, "bad_response", 0, 0},
		{"304 has no body", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n", 304, false, "", 0, 0},
		{"interim responses are skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false, "", 0, 0},
		{"101 is not asked for", "HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"a 4,500-byte field", "HTTP/1.1 200 OK\r\nContent-Security-Policy: " + strings.Repeat("x", 4500) + "\r\nContent-Length: 2\r\n\r\nok", 200, false, "", 0, 0},
		{"a long reason phrase", "HTTP/1.1 404 " + long + "\r\nContent-Length: 2\r\n\r\nok", 404, false, "", 0, 0},
		{"a long framing field", "HTTP/1.1 200 OK\r\nConnection: " + long + "\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"header at the bound", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("y", 1024-17-5-21) + "\r\nContent-Length: 2\r\n\r\nok", 200, false, "", 1024, 0},
		{"header past the bound", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("y", 1024-17-5-20) + "\r\nContent-Length: 2\r\n\r\nok", 0, false, "header_too_large", 1024, 0},
		{"a long line past the bound", "HTTP/1.1 200 OK\r\nX: " + long + "\r\n\r\n", 0, false, "response header over 1024 bytes", 1024, 0},
		{"endless interim responses", strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 3000), 0, false, "header_too_large", 0, 0},
		{"trailers count against the header bound", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + strings.Repeat("X-T: 1\r\n", 200) + "\r\n", 0, false, "header_too_large", 1024, 0},
		{"folded field", "HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n", 200, false, "", 0, 0},
		{"folded framing field", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n c\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"no colon", "HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nok", 0, false, "bad_response", 0, 0},
		{"space before the colon", "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", 0, false, "bad_response", 0, 0},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"HTTP/2", "HTTP/2 200 OK\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"status not a number", "HTTP/1.1 2x0 OK\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"status below 100", "HTTP/1.1 099 OK\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, false, "bad_response", 0, 0},
		{"chunk without its CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n0\r\n\r\n", 0, false, "bad_response", 0, 0},
		{"closed before a byte", "", 0, false, "EOF", 0, 0},
		{"closed in the status line", "HTTP/1.1 20", 0, false, "unexpected EOF", 0, 0},
		{"closed in the header", "HTTP/1.1 200 OK\r\nContent-Le", 0, false, "unexpected EOF", 0, 0},
		{"closed in the body", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok", 0, false, "unexpected EOF", 0, 0},
		{"closed in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok", 0, false, "unexpected EOF", 0, 0},
	} {
		for _, split := range []bool{false, true} {
			in := tc.in
			if tc.err == "" && !strings.HasSuffix(in, rest) && !tc.close {
				in += rest // what follows the response must be left unread
			}
			var r io.Reader = strings.NewReader(in)
			if split {
				r = iotest.OneByteReader(r)
			}
			br := bufio.NewReaderSize(r, 4096)
			p := responseReader{br: br, maxHeader: tc.maxHdr, maxBody: tc.maxBdy}
			if p.maxHeader == 0 {
				p.maxHeader = DefaultMaxHeaderBytes
			}
			if p.maxBody == 0 {
				p.maxBody = DefaultMaxBodyBytes
			}
			err := p.read()
			if tc.err != "" {
				if err == nil || (Classify(err).String() != tc.err && !strings.Contains(err.Error(), tc.err)) {
					t.Errorf("%s (split %v): read = %v (%s); want %s", tc.name, split, err, Classify(err), tc.err)
				}
				continue
			}
			if err != nil || p.status != tc.status || p.close != tc.close {
				t.Errorf("%s (split %v): read = %v, status %d, close %v; want nil, %d, %v", tc.name, split, err, p.status, p.close, tc.status, tc.close)
				continue
			}
			left, _ := io.ReadAll(br)
			if want := rest; tc.close {
				want = ""
			} else if string(left) != want {
				t.Errorf("%s (split %v): left unread %q; want %q", tc.name, split, left, want)
			}
		}
	}
}

// The request path allocates nothing to read a response, whatever its
// framing; a refused response may.
func TestReadResponseAllocatesNothing(t *testing.T) {
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Long: " + strings.Repeat("a", 9000) + "\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\n\r\n" + strings.Repeat("b", 100000),
	} {
		sr := strings.NewReader(in)
		br := bufio.NewReaderSize(sr, 4096)
		p := responseReader{br: br, maxHeader: DefaultMaxHeaderBytes, maxBody: DefaultMaxBodyBytes}
		allocs := testing.AllocsPerRun(100, func() {
			sr.Reset(in)
			br.Reset(sr)
			if err := p.read(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("reading %.40q... allocated %v times; want 0", in, allocs)
		}
	}
}

// The reader never panics, never reads past its bounds, and refuses or
// accepts every input with an error of a known class.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nbody",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sr := strings.NewReader(in)
		br := bufio.NewReaderSize(sr, 64)
		p := responseReader{br: br, maxHeader: 1024, maxBody: 512}
		err := p.read()
		if err != nil {
			var bad *badResponseError
			if c := Classify(err); c == ErrOther || (c == ErrBadResponse && !errors.As(err, &bad)) {
				t.Fatalf("read(%q) = %v, class %s", in, err, c)
			}
			return
		}
		if p.status < 200 || p.status > 999 {
			t.Fatalf("read(%q): status %d", in, p.status)
		}
	})
}

// BenchmarkReadResponse is the response's read on every HTTP request, here
// from memory, against fasthttp's Response.Read, which it replaced.
func BenchmarkReadResponse(b *testing.B) {
	nginx := "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 22:00:00 GMT\r\n" +
		"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
	for _, bc := range []struct{ name, in string }{
		{"content-length", nginx},
		{"chunked", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"},
	} {
		b.Run(bc.name+"/twbench", func(b *testing.B) {
			sr := strings.NewReader(bc.in)
			br := bufio.NewReaderSize(sr, 4096)
			p := responseReader{br: br, maxHeader: DefaultMaxHeaderBytes, maxBody: DefaultMaxBodyBytes}
			b.ReportAllocs()
			for b.Loop() {
				sr.Reset(bc.in)
				br.Reset(sr)
				if err := p.read(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/fasthttp", func(b *testing.B) {
			sr := strings.NewReader(bc.in)
			br := bufio.NewReaderSize(sr, 4096)
			var resp fasthttp.Response
			b.ReportAllocs()
			for b.Loop() {
				sr.Reset(bc.in)
				br.Reset(sr)
				if err := resp.Read(br); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
