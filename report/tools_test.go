package report

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParseToolSummary reads the summaries ab, wrk and hey printed here
// (testdata/tools/README.md says how each was made) and one built from
// oha's printing code.
func TestParseToolSummary(t *testing.T) {
	us := func(p50, p90, p99, p999, max int64, mean float64) Percentiles {
		return Percentiles{P50: p50, P90: p90, P99: p99, P999: p999, Max: max, Mean: mean}
	}
	tests := []struct {
		file     string
		argv     string
		tool     string
		requests int64
		errors   map[string]int64
		conc     int
		duration time.Duration
		rate     float64
		latency  Percentiles
		given    string
	}{
		{"ab-close", "ab -n 2000 -c 10 URL", "ab", 2000, nil, 10, 162 * time.Millisecond, 12319.37,
			us(1000, 1000, 3000, 0, 4000, 812), "mean p50 p90 p99 max"},
		{"ab-keepalive", "ab -k -n 2000 -c 10 URL", "ab", 2000, nil, 10, 30 * time.Millisecond, 66460.64,
			us(0, 0, 0, 0, 1000, 150), "mean p50 p90 p99 max"},
		{"ab-404", "ab", "ab", 200, map[string]int64{"http_status": 200}, 4, 199 * time.Millisecond, 1007.42,
			us(0, 1000, 3000, 0, 3000, 3971), "mean p50 p90 p99 max"},
		{"ab-length", "ab", "ab", 300, nil, 3, 37 * time.Millisecond, 8001.07,
			us(0, 0, 8000, 0, 8000, 375), "mean p50 p90 p99 max"},
		{"ab-sigint", "ab", "ab", 10648, nil, 10, 1482 * time.Millisecond, 7186.42,
			us(1000, 2000, 6000, 0, 81000, 1392), "mean p50 p90 p99 max"},
		{"wrk-keepalive", "wrk -t2 -c10 -d2s URL", "wrk", 97436, nil, 10, 2040 * time.Millisecond, 47859.83,
			us(0, 0, 0, 0, 66610, 1470), "mean max"},
		{"wrk-close-latency", "wrk", "wrk", 15714, nil, 10, 2030 * time.Millisecond, 7730.03,
			us(535, 97750, 585430, 0, 652660, 39940), "mean max p50 p90 p99"},
		{"wrk-errors", "wrk", "wrk", 89439, map[string]int64{"other": 306}, 500, 1010 * time.Millisecond, 88346.77,
			us(0, 0, 0, 0, 18550, 1880), "mean max"},
		{"wrk-404", "wrk", "wrk", 47919, map[string]int64{"http_status": 47919}, 4, 1100 * time.Millisecond, 43573.30,
			us(0, 0, 0, 0, 27800, 596.9), "mean max"},
		{"hey-keepalive", "hey -n 2000 -c 10 URL", "hey", 2000, nil, 10, 138700 * time.Microsecond, 14417.2463,
			us(400, 1200, 5600, 0, 19100, 600), "mean max p50 p90 p99"},
		{"hey-nokeepalive", "hey -n 2000 -c=10 -disable-keepalive URL", "hey", 2000, nil, 10, 332500 * time.Microsecond, 6015.3456,
			us(1100, 3200, 6200, 0, 8800, 1600), "mean max p50 p90 p99"},
		{"hey-refused", "hey -n 200 URL", "hey", 0, map[string]int64{"ECONNREFUSED": 200}, 50, 17300 * time.Microsecond, 11571.518,
			us(0, 0, 0, 0, 0, 0), ""},
		{"hey-404", "hey -n 200 -c 4 URL", "hey", 200, map[string]int64{"http_status": 200}, 4, 10900 * time.Microsecond, 18414.3903,
			us(200, 300, 900, 0, 1000, 200), "mean max p50 p90 p99"},
		{"oha-1.15.0-built-from-printer-rs", "oha -n 2000 -c 10 --disable-keepalive URL", "oha", 1993,
			map[string]int64{"unexpected_eof": 7}, 10, 141230500 * time.Nanosecond, 14161.247,
			us(504, 1227, 2644, 5894, 8300, 645.7), "mean max p50 p90 p99 p999"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", "tools", tc.file+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			s, ok := ParseToolSummary(string(out), strings.Fields(tc.argv))
			if !ok {
				t.Fatalf("ParseToolSummary(%s) found no summary", tc.file)
			}
			got := fmt.Sprintf("%s: %d requests, errors %v, %d conns, %v, %.4f/s, latency %+v, given %q",
				s.Tool, s.Requests, fmtMap(s.Errors), s.Concurrency, s.Duration, s.Rate, s.Latency, strings.Join(s.Given, " "))
			want := fmt.Sprintf("%s: %d requests, errors %v, %d conns, %v, %.4f/s, latency %+v, given %q",
				tc.tool, tc.requests, fmtMap(tc.errors), tc.conc, tc.duration, tc.rate, tc.latency, tc.given)
			if got != want {
				t.Errorf("ParseToolSummary(%s) =\n  %s\nwant\n  %s", tc.file, got, want)
			}
		})
	}
}

func fmtMap(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// TestParseToolSummaryNotOne: output that is no tool's summary, or a
// summary cut off before its figures, is not read as one.
func TestParseToolSummaryNotOne(t *testing.T) {
	ab, err := os.ReadFile("testdata/tools/ab-close.txt")
	if err != nil {
		t.Fatal(err)
	}
	cut := string(ab[:strings.Index(string(ab), "Requests per second")])
	for _, out := range []string{
		"",
		"hello\nworld\n",
		"Summary:\n  Total:\tsoon\n  Requests/sec:\tmany\n",
		cut,
		"Running 10s test @ http://x/\n  2 threads and 10 connections\n", // wrk killed before its summary
		"Complete requests: 10\nRequests per second: NaN [#/sec] (mean)\n",
	} {
		if s, ok := ParseToolSummary(out, nil); ok {
			t.Errorf("ParseToolSummary(%.40q) = %s summary; want none", out, s.Tool)
		}
	}
}

// TestErrorClass: tools' messages map to loadgen's error classes.
func TestErrorClass(t *testing.T) {
	for msg, want := range map[string]string{
		`Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`: "ECONNREFUSED",
		"Connection reset by peer (os error 104)":                                      "ECONNRESET",
		"dial tcp 127.0.0.1:80: connect: cannot assign requested address":              "EADDRNOTAVAIL",
		"socket: too many open files":                                                  "EMFILE",
		"net/http: request canceled (Client.Timeout exceeded while awaiting headers)":  "timeout",
		"connection closed before message completed":                                   "unexpected_eof",
		"Get \"http://x/\": EOF":                                                       "unexpected_eof",
		"something else":                                                               "other",
	} {
		if got := errorClass(msg); got != want {
			t.Errorf("errorClass(%q) = %s; want %s", msg, got, want)
		}
	}
}

// FuzzParseToolSummary: any output is read without a panic, and what is
// read has no negative count.
func FuzzParseToolSummary(f *testing.F) {
	files, _ := filepath.Glob("testdata/tools/*.txt")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, out string) {
		s, ok := ParseToolSummary(out, []string{"hey", "-c", "7"})
		if !ok {
			return
		}
		if s.Requests < 0 || s.Rate < 0 || s.Duration < 0 || s.Concurrency < 0 {
			t.Errorf("%s summary with a negative figure: %+v", s.Tool, s)
		}
		for k, n := range s.Errors {
			if n < 0 {
				t.Errorf("%s summary: errors[%s] = %d", s.Tool, k, n)
			}
		}
	})
}
