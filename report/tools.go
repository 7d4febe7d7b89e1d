package report

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ToolSummary is what a load tool's summary said about its run: what
// `twbench watch` reads from the output of ab, wrk, hey or oha.
type ToolSummary struct {
	// Tool is the tool whose summary it is: ab, wrk, hey or oha.
	Tool string
	// Requests counts responses read in full, whatever their status.
	Requests int64
	// Errors counts failed requests by class, as loadgen's classes name
	// them (http_status for responses of 400 or more, or as the tool
	// counts them).
	Errors map[string]int64
	// StatusCodes counts responses by status, when the tool says.
	StatusCodes map[string]int64
	// Duration is the tool's measured time; Rate its own requests/s.
	Duration time.Duration
	Rate     float64
	// Concurrency is the connections or workers it ran; 0 if unknown.
	Concurrency int
	// Latency holds the percentiles the tool printed, in µs; Given names
	// those it printed (p50, p90, p99, p999, max, mean), the others are 0.
	Latency Percentiles
	Given   []string
	// Notes say where the tool counts differently from twbench.
	Notes []string
}

// loadTools are the load tools whose summaries twbench reads.
var loadTools = []struct {
	name  string
	parse func(out string, argv []string) (ToolSummary, bool)
}{
	{"ab", parseAB},
	{"wrk", parseWrk},
	{"hey", parseHey},
	{"oha", parseOha},
}

// LoadTools lists the tools whose summaries ParseToolSummary reads.
func LoadTools() []string {
	names := make([]string, len(loadTools))
	for i, t := range loadTools {
		names[i] = t.name
	}
	return names
}

// ParseToolSummary reads the summary a load tool printed on its standard
// output, recognised by its layout, not by the command's name (it may run
// under sh -c or a container); argv, the command, gives the concurrency
// where the summary does not. ok is false when the output is none of the
// tools'.
func ParseToolSummary(out string, argv []string) (ToolSummary, bool) {
	for _, t := range loadTools {
		if s, ok := t.parse(out, argv); ok {
			s.Tool = t.name
			if s.Requests == 0 {
				// hey prints a slowest of 0 when every request failed.
				s.Latency, s.Given = Percentiles{}, nil
			}
			return s, true
		}
	}
	return ToolSummary{}, false
}

// durationOf converts seconds as a tool printed them to a Duration, rounded
// to the nanosecond: 2.03 is 2.03s, not 2.029999999s.
func durationOf(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// lines returns out's lines, trimmed of spaces at both ends.
func lines(out string) []string {
	ls := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	for i := range ls {
		ls[i] = strings.TrimSpace(ls[i])
	}
	return ls
}

// after returns the text after label on the first line that starts with
// it, trimmed; ok is false when no line does.
func after(ls []string, label string) (string, bool) {
	for _, l := range ls {
		if rest, ok := strings.CutPrefix(l, label); ok {
			return strings.TrimSpace(rest), true
		}
	}
	return "", false
}

// firstInt and firstFloat read the first word of s.
func firstInt(s string) (int64, bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	return n, err == nil && n >= 0
}

func firstFloat(s string) (float64, bool) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(f[0], 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0
}

// setLatency sets one of the summary's percentiles, from a value in
// seconds.
func (s *ToolSummary) setLatency(key string, seconds float64) {
	us := int64(math.Round(seconds * 1e6))
	switch key {
	case "p50":
		s.Latency.P50 = us
	case "p90":
		s.Latency.P90 = us
	case "p99":
		s.Latency.P99 = us
	case "p999":
		s.Latency.P999 = us
	case "max":
		s.Latency.Max = us
	case "mean":
		s.Latency.Mean = round(seconds*1e6, 1)
	default:
		return
	}
	s.Given = append(s.Given, key)
}

// percentileKey names the report's percentile for a tool's "99%" or
// "99.90%"; "" for one the report does not keep.
func percentileKey(label string) string {
	v, err := strconv.ParseFloat(strings.TrimSuffix(label, "%"), 64)
	if err != nil {
		return ""
	}
	switch v {
	case 50:
		return "p50"
	case 90:
		return "p90"
	case 99:
		return "p99"
	case 99.9:
		return "p999"
	}
	return ""
}

func (s *ToolSummary) addError(class string, n int64) {
	if n <= 0 {
		return
	}
	if s.Errors == nil {
		s.Errors = map[string]int64{}
	}
	s.Errors[class] = addCapped(s.Errors[class], n)
}

// addCapped adds two counts from a tool's output, which may be anything,
// without overflowing.
func addCapped(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// flagInt returns the value of a command's -c style flag: "-c 50",
// "-c=50", "--c 50" or "-c50"; def when it is not given.
func flagInt(argv []string, name string, def int) int {
	for i, a := range argv {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a, ok := strings.CutPrefix(strings.TrimLeft(a, "-"), name)
		if !ok {
			continue
		}
		v := strings.TrimPrefix(a, "=")
		if v == "" && i+1 < len(argv) {
			v = argv[i+1]
		}
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// errorClass names the class of a failed request from a tool's error
// message, in loadgen's classes' names.
func errorClass(msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "connection refused"):
		return "ECONNREFUSED"
	case strings.Contains(m, "connection reset"):
		return "ECONNRESET"
	case strings.Contains(m, "cannot assign requested address"):
		return "EADDRNOTAVAIL"
	case strings.Contains(m, "too many open files"):
		return "EMFILE"
	case strings.Contains(m, "broken pipe"):
		return "EPIPE"
	case strings.Contains(m, "timeout"), strings.Contains(m, "timed out"), strings.Contains(m, "deadline exceeded"):
		return "timeout"
	case strings.Contains(m, "eof"), strings.Contains(m, "closed before message completed"):
		return "unexpected_eof"
	}
	return "other"
}

// ab: ApacheBench 2.3.
func parseAB(out string, _ []string) (ToolSummary, bool) {
	ls := lines(out)
	complete, ok1 := after(ls, "Complete requests:")
	rate, ok2 := after(ls, "Requests per second:")
	if !ok1 || !ok2 {
		return ToolSummary{}, false
	}
	var s ToolSummary
	var ok bool
	done, _ := firstInt(complete)
	s.Rate, ok = firstFloat(rate)
	if !ok {
		return ToolSummary{}, false
	}
	if v, ok := after(ls, "Concurrency Level:"); ok {
		n, _ := firstInt(v)
		s.Concurrency = int(n)
	}
	if v, ok := after(ls, "Time taken for tests:"); ok {
		if secs, ok := firstFloat(v); ok {
			s.Duration = durationOf(secs)
		}
	}
	// "Failed requests: 291" and, below it when some failed,
	// "(Connect: 0, Receive: 0, Length: 291, Exceptions: 0)". A response
	// whose length differs from the first is a failure to ab, a request
	// to twbench.
	var failed int64
	for i, l := range ls {
		if !strings.HasPrefix(l, "Failed requests:") || i+1 >= len(ls) || !strings.HasPrefix(ls[i+1], "(Connect:") {
			continue
		}
		for _, part := range strings.Split(strings.Trim(ls[i+1], "()"), ",") {
			name, v, _ := strings.Cut(part, ":")
			n, _ := firstInt(strings.TrimSpace(v))
			switch strings.TrimSpace(name) {
			case "Connect", "Receive", "Exceptions":
				failed += n
			case "Length":
				if n > 0 {
					s.Notes = append(s.Notes, "ab counted "+strconv.FormatInt(n, 10)+
						" responses whose length differed from the first as failed (Length); twbench counts them as requests")
				}
			}
		}
	}
	s.Requests = max(done-failed, 0)
	s.addError("other", failed)
	if v, ok := after(ls, "Non-2xx responses:"); ok {
		n, _ := firstInt(v)
		s.addError("http_status", n)
		if n > 0 {
			s.Notes = append(s.Notes, "ab counts every response other than 2xx (3xx too) as Non-2xx, here http_status")
		}
	}
	if v, ok := after(ls, "Time per request:"); ok { // the first: the mean per request
		if ms, ok := firstFloat(v); ok {
			s.setLatency("mean", ms/1e3)
		}
	}
	// "Percentage of the requests served within a certain time (ms)",
	// then " 50%  1" ... " 100%  4 (longest request)", in whole ms.
	for _, l := range ls {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasSuffix(f[0], "%") {
			continue
		}
		ms, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		if f[0] == "100%" {
			s.setLatency("max", float64(ms)/1e3)
		} else if key := percentileKey(f[0]); key != "" && key != "p999" {
			s.setLatency(key, float64(ms)/1e3)
		}
	}
	s.Notes = append(s.Notes, "ab prints its percentiles in whole milliseconds")
	return s, true
}

// wrkDuration reads a time as wrk prints it: 535.00us, 1.47ms, 2.04s,
// 1.00m, 1.00h.
func wrkDuration(v string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		scale  float64
	}{{"us", 1e-6}, {"ms", 1e-3}, {"m", 60}, {"h", 3600}, {"s", 1}} {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			f, ok := firstFloat(num)
			return f * u.scale, ok
		}
	}
	return 0, false
}

// wrk 4.
func parseWrk(out string, _ []string) (ToolSummary, bool) {
	ls := lines(out)
	var s ToolSummary
	found := false
	for _, l := range ls {
		// "97436 requests in 2.04s, 7.81MB read"
		f := strings.Fields(l)
		if len(f) >= 4 && f[1] == "requests" && f[2] == "in" {
			n, ok1 := firstInt(f[0])
			d, ok2 := wrkDuration(strings.TrimSuffix(f[3], ","))
			if ok1 && ok2 {
				s.Requests, s.Duration, found = n, durationOf(d), true
			}
		}
	}
	rate, ok := after(ls, "Requests/sec:")
	if !found || !ok {
		return ToolSummary{}, false
	}
	s.Rate, _ = firstFloat(rate)
	for i, l := range ls {
		f := strings.Fields(l)
		switch {
		case len(f) == 5 && f[1] == "threads" && f[2] == "and": // "2 threads and 10 connections"
			n, _ := firstInt(f[3])
			s.Concurrency = int(n)
		case len(f) >= 4 && f[0] == "Latency" && i > 0 && strings.HasPrefix(ls[i-1], "Thread Stats"):
			if v, ok := wrkDuration(f[1]); ok {
				s.setLatency("mean", v)
			}
			if v, ok := wrkDuration(f[3]); ok {
				s.setLatency("max", v)
			}
		case len(f) == 2 && strings.HasSuffix(f[0], "%") && percentileKey(f[0]) != "":
			if v, ok := wrkDuration(f[1]); ok { // the Latency Distribution of --latency
				s.setLatency(percentileKey(f[0]), v)
			}
		}
	}
	// "Socket errors: connect 306, read 0, write 0, timeout 0": the
	// failures are not in its requests.
	if v, ok := after(ls, "Socket errors:"); ok {
		for _, part := range strings.Split(v, ",") {
			f := strings.Fields(part)
			if len(f) != 2 {
				continue
			}
			n, _ := firstInt(f[1])
			if f[0] == "timeout" {
				s.addError("timeout", n)
			} else {
				s.addError("other", n)
			}
		}
	}
	if v, ok := after(ls, "Non-2xx or 3xx responses:"); ok {
		n, _ := firstInt(v)
		s.addError("http_status", n)
	}
	if !slices.Contains(s.Given, "p50") {
		s.Notes = append(s.Notes, "wrk prints percentiles only with --latency")
	}
	return s, true
}
