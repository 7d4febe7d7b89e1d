package loadgen

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// ErrorClass is a kind of failed request, named in reports as the errno or
// condition behind it.
type ErrorClass uint8

// The error classes. The first six are always reported, even when zero, so
// expressions over a report can name them.
const (
	ErrAddrNotAvail       ErrorClass = iota // EADDRNOTAVAIL: no ephemeral port left for connect()
	ErrConnRefused                          // ECONNREFUSED
	ErrConnReset                            // ECONNRESET: the peer's RST before the response was read
	ErrTooManyFiles                         // EMFILE: the process's descriptor limit
	ErrTimeout                              // the request's timeout
	ErrHTTPStatus                           // a response with status 400 or more
	ErrTooManyFilesSystem                   // ENFILE
	ErrBrokenPipe                           // EPIPE
	ErrUnexpectedEOF                        // the server closed before the response was complete
	ErrBadResponse                          // a response that does not parse as HTTP
	ErrHeaderTooLarge                       // a response header past Config.MaxHeaderBytes
	ErrBodyTooLarge                         // a response body past Config.MaxBodyBytes
	ErrOther
	numErrorClasses
)

// String returns the class's name in reports.
func (c ErrorClass) String() string {
	switch c {
	case ErrAddrNotAvail:
		return "EADDRNOTAVAIL"
	case ErrConnRefused:
		return "ECONNREFUSED"
	case ErrConnReset:
		return "ECONNRESET"
	case ErrTooManyFiles:
		return "EMFILE"
	case ErrTimeout:
		return "timeout"
	case ErrHTTPStatus:
		return "http_status"
	case ErrTooManyFilesSystem:
		return "ENFILE"
	case ErrBrokenPipe:
		return "EPIPE"
	case ErrUnexpectedEOF:
		return "unexpected_eof"
	case ErrBadResponse:
		return "bad_response"
	case ErrHeaderTooLarge:
		return "header_too_large"
	case ErrBodyTooLarge:
		return "body_too_large"
	}
	return "other"
}

// AlwaysReported reports whether the class is reported even when zero.
func (c ErrorClass) AlwaysReported() bool { return c <= ErrHTTPStatus }

// Classify returns the class of a request's error.
func Classify(err error) ErrorClass {
	var ne net.Error
	var bad *badResponseError
	var header *headerTooLargeError
	var body *bodyTooLargeError
	switch {
	case errors.As(err, &bad):
		return ErrBadResponse
	case errors.As(err, &header):
		return ErrHeaderTooLarge
	case errors.As(err, &body):
		return ErrBodyTooLarge
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return ErrAddrNotAvail
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrConnRefused
	case errors.Is(err, syscall.ECONNRESET):
		return ErrConnReset
	case errors.Is(err, syscall.EMFILE):
		return ErrTooManyFiles
	case errors.Is(err, syscall.ENFILE):
		return ErrTooManyFilesSystem
	case errors.Is(err, syscall.EPIPE):
		return ErrBrokenPipe
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ETIMEDOUT), errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ErrUnexpectedEOF
	}
	return ErrOther
}

// describe writes err as the report's example of its class: naming the
// target when the message does not, and saying what a bare EOF means
// (the example of unexpected_eof was "EOF" and nothing else).
func (g *Generator) describe(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "the server closed the connection part-way through the response (" + msg + ")"
	case errors.Is(err, io.EOF):
		msg = "the server closed the connection before a complete response (" + msg + ")"
	}
	if !strings.Contains(msg, g.addrPort) {
		msg = g.addrPort + ": " + msg
	}
	return msg
}
