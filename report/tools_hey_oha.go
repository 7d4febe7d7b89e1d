package report

import (
	"slices"
	"strconv"
	"strings"
)

// heySeconds reads hey's latencies, in seconds: "0.0191 secs".
func heySeconds(v string) (float64, bool) {
	f := strings.Fields(v)
	if len(f) != 2 || f[1] != "secs" {
		return 0, false
	}
	return firstFloat(f[0])
}

// hey 0.1.
func parseHey(out string, argv []string) (ToolSummary, bool) {
	ls := lines(out)
	total, ok1 := after(ls, "Total:")
	rate, ok2 := after(ls, "Requests/sec:")
	if _, oha := after(ls, "Success rate:"); !ok1 || !ok2 || oha || !slices.Contains(ls, "Summary:") {
		return ToolSummary{}, false // oha's summary begins as hey's does, with a success rate
	}
	var s ToolSummary
	d, ok := heySeconds(total)
	if !ok {
		return ToolSummary{}, false
	}
	s.Duration = durationOf(d)
	s.Rate, _ = firstFloat(rate)
	s.Concurrency = flagInt(argv, "c", 50)
	s.readLatenciesAndDistributions(ls, "Latency distribution:", heySeconds, func(string) bool { return true })
	s.Notes = append(s.Notes, "hey prints its latencies to 0.1 ms, and its Requests/sec counts failed requests too")
	return s, true
}

// readLatenciesAndDistributions reads what hey and oha print alike: the
// Average and Slowest latencies, then the sections headed "Name:": the
// percentiles under latencySection ("50% in 0.0004 secs"), the status
// codes, and the errors whose line keepError keeps. parse reads a time
// in the tool's words.
func (s *ToolSummary) readLatenciesAndDistributions(ls []string, latencySection string, parse func(string) (float64, bool),
	keepError func(line string) bool) {
	for _, k := range []struct{ label, key string }{{"Average:", "mean"}, {"Slowest:", "max"}} {
		if v, ok := after(ls, k.label); ok {
			if secs, ok := parse(v); ok {
				s.setLatency(k.key, secs)
			}
		}
	}
	section := ""
	for _, l := range ls {
		if strings.HasSuffix(l, ":") && !strings.HasPrefix(l, "[") {
			section = l
			continue
		}
		switch section {
		case latencySection:
			pct, v, ok := strings.Cut(l, " in ")
			if secs, ok2 := parse(v); ok && ok2 && percentileKey(pct) != "" {
				s.setLatency(percentileKey(pct), secs)
			}
		case "Status code distribution:":
			s.addDistribution(false, l)
		case "Error distribution:":
			if keepError(l) {
				s.addDistribution(true, l)
			}
		}
	}
}

// addDistribution reads a line of hey's or oha's status code or error
// distribution: "[200] 2000 responses", or "[7] connection closed
// before message completed".
func (s *ToolSummary) addDistribution(isError bool, l string) {
	inner, rest, ok := strings.Cut(strings.TrimPrefix(l, "["), "]")
	if !ok || !strings.HasPrefix(l, "[") {
		return
	}
	rest = strings.TrimSpace(rest)
	if isError {
		n, err := strconv.ParseInt(inner, 10, 64)
		if err != nil || n < 0 {
			return
		}
		s.addError(errorClass(rest), n)
		return
	}
	code, err := strconv.Atoi(inner)
	n, ok := firstInt(rest)
	if err != nil || !ok || code < 100 || code > 999 {
		return
	}
	if s.StatusCodes == nil {
		s.StatusCodes = map[string]int64{}
	}
	s.StatusCodes[inner] = addCapped(s.StatusCodes[inner], n)
	s.Requests = addCapped(s.Requests, n)
	if code >= 400 {
		s.addError("http_status", n)
	}
}

// ohaTime reads a time as oha prints it, "0.6457 ms", in its time
// scales; "10 sec" and "10 min" are scales of their own.
func ohaTime(v string) (float64, bool) {
	f := strings.Fields(v)
	if len(f) < 2 {
		return 0, false
	}
	scales := map[string]float64{"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "sec": 1, "min": 60, "hr": 3600}
	unit, scale := f[1], 1.0
	if len(f) == 3 && f[1] == "10" {
		unit, scale = f[2], 10
	}
	s, ok := scales[unit]
	x, ok2 := firstFloat(f[0])
	return x * s * scale, ok && ok2
}

// oha, as it prints when its output is not a terminal.
func parseOha(out string, argv []string) (ToolSummary, bool) {
	ls := lines(out)
	_, ok1 := after(ls, "Success rate:")
	total, ok2 := after(ls, "Total:")
	rate, ok3 := after(ls, "Requests/sec:")
	if !ok1 || !ok2 || !ok3 {
		return ToolSummary{}, false
	}
	var s ToolSummary
	d, ok := ohaTime(total)
	if !ok {
		return ToolSummary{}, false
	}
	s.Duration = durationOf(d)
	s.Rate, _ = firstFloat(rate)
	s.Concurrency = flagInt(argv, "c", 50)
	// oha ends a -z run by aborting the requests in flight: not failures.
	s.readLatenciesAndDistributions(ls, "Response time distribution:", ohaTime,
		func(l string) bool { return !strings.HasSuffix(l, "aborted due to deadline") })
	s.Notes = append(s.Notes, "oha's Requests/sec counts failed requests too")
	return s, true
}
