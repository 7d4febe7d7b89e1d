package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// MaxMergeInput bounds what merge reads from one input: a shard's report
// of a one-hour run, sampled every 100 ms, is about 15 MB.
const MaxMergeInput = 1 << 30

// ShardReport is one report read for merge: where it was read, its JSON
// as written, and the report.
type ShardReport struct {
	// Input is the file, or FILE:LINE when the input held several.
	Input  string
	Raw    json.RawMessage
	Report *Report
}

// kubectl logs may begin each line with the pod and container
// (--prefix) and a timestamp (--timestamps).
var (
	logPrefix    = regexp.MustCompile(`^\[[^\]\s]+\] `)
	logTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) `)
)

// tailHint is what a report cut short usually means.
const tailHint = "kubectl logs with -l gives only the last 10 lines of each pod unless told --tail=-1"

// ReadReports reads the JSON reports in one input, named name in errors
// ("-" for stdin): one report, or several one after another, as `kubectl
// logs` gives a Job's pods. Lines of twbench's own messages between
// reports ("twbench: ..." on stderr, which a pod's log interleaves) are
// skipped; kubectl's --prefix, which tells the pods' lines apart, and
// --timestamps are taken off. Anything else is refused with its line.
func ReadReports(name string, r io.Reader) ([]ShardReport, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxMergeInput+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxMergeInput {
		return nil, fmt.Errorf("%s: more than %d MiB: merge reads at most that from one input", name, MaxMergeInput>>20)
	}
	var out []ShardReport
	for _, s := range splitStreams(data) {
		reports, err := s.reports(name)
		if err != nil {
			return nil, err
		}
		out = append(out, reports...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no report in it", name)
	}
	if len(out) == 1 {
		out[0].Input = name
	}
	return out, nil
}

// stream is the lines of one pod (one --prefix), joined, with the input
// line each began on.
type stream struct {
	buf    []byte
	starts []int // the offset in buf of each line
	lines  []int // its line in the input
}

// splitStreams takes kubectl's prefixes and timestamps off the lines of
// data and gathers the lines of each prefix, in the order each first
// appears.
func splitStreams(data []byte) []*stream {
	byPrefix := map[string]*stream{}
	var order []*stream
	for n, line := 1, data; len(line) > 0; n++ {
		end := bytes.IndexByte(line, '\n') + 1
		if end == 0 {
			end = len(line)
		}
		text := line[:end]
		line = line[end:]
		prefix := logPrefix.Find(text)
		text = text[len(prefix):]
		text = text[len(logTimestamp.Find(text)):]
		s := byPrefix[string(prefix)]
		if s == nil {
			s = &stream{}
			byPrefix[string(prefix)] = s
			order = append(order, s)
		}
		s.starts = append(s.starts, len(s.buf))
		s.lines = append(s.lines, n)
		s.buf = append(s.buf, text...)
	}
	return order
}

// lineAt returns the input line of offset off in s.buf.
func (s *stream) lineAt(off int) int {
	i := sort.SearchInts(s.starts, off+1) - 1
	return s.lines[max(i, 0)]
}

// reports decodes the reports of one stream.
func (s *stream) reports(name string) ([]ShardReport, error) {
	var out []ShardReport
	for pos := 0; pos < len(s.buf); {
		switch c := s.buf[pos]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			pos++
			continue
		case c != '{':
			lineEnd := bytes.IndexByte(s.buf[pos:], '\n')
			if lineEnd < 0 {
				lineEnd = len(s.buf) - pos
			}
			text := string(s.buf[pos : pos+lineEnd])
			atLineStart := pos == 0 || s.buf[pos-1] == '\n'
			if atLineStart && (strings.HasPrefix(text, "twbench: ") || strings.HasPrefix(text, "twbench ")) {
				pos += lineEnd
				continue // twbench's own message, from stderr
			}
			return nil, fmt.Errorf("%s:%d: not a twbench JSON report: %s%s", name, s.lineAt(pos), quoteStart(text), midReportHint(text))
		}
		dec := json.NewDecoder(bytes.NewReader(s.buf[pos:]))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			var syn *json.SyntaxError
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
				return nil, fmt.Errorf("%s:%d: a report cut short: the input ends inside it (%s)", name, s.lineAt(pos), tailHint)
			case errors.As(err, &syn):
				return nil, fmt.Errorf("%s:%d: not JSON: %v", name, s.lineAt(pos+int(syn.Offset)-1), err)
			}
			return nil, fmt.Errorf("%s:%d: %w", name, s.lineAt(pos), err)
		}
		rep, err := ReadReport(raw)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, s.lineAt(pos), err)
		}
		out = append(out, ShardReport{Input: name + ":" + strconv.Itoa(s.lineAt(pos)), Raw: raw, Report: rep})
		pos += int(dec.InputOffset())
	}
	return out, nil
}

// quoteStart quotes the start of a line for a message.
func quoteStart(text string) string {
	const most = 40
	if r := []rune(text); len(r) > most {
		return strconv.Quote(string(r[:most])) + "…"
	}
	return strconv.Quote(text)
}

// midReportHint explains a line that looks like the inside of a report.
func midReportHint(text string) string {
	if t := strings.TrimSpace(text); strings.HasPrefix(t, `"`) || strings.HasPrefix(t, "}") || strings.HasPrefix(t, "]") {
		return " (the inside of a report without its start: " + tailHint + ")"
	}
	return ""
}
