package report_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/twbench/twbench/report"
)

// shardsJSON returns three shards' reports as run --shard writes them.
func shardsJSON(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for i := range 3 {
		var b bytes.Buffer
		if err := report.WriteJSON(&b, shardReport(t, shardSpec{index: i}).Report); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

// Reports one after another are read as kubectl logs gives them: plain,
// between twbench's own lines, with --prefix (even interleaved, as with
// -f), with --timestamps.
func TestReadReports(t *testing.T) {
	reps := shardsJSON(t)
	prefixed := func(pod int, b []byte, stamp bool) []string {
		var lines []string
		for _, l := range strings.SplitAfter(string(b), "\n") {
			if l == "" {
				continue
			}
			if stamp {
				l = "2026-05-04T12:00:00.123456789Z " + l
			}
			lines = append(lines, fmt.Sprintf("[pod/twbench-fleet-%d-x7k2p/twbench] %s", pod, l))
		}
		return lines
	}
	var interleaved strings.Builder
	a, b := prefixed(0, reps[0], false), prefixed(1, reps[1], true)
	for i := 0; i < max(len(a), len(b)); i++ {
		if i < len(a) {
			interleaved.WriteString(a[i])
		}
		if i < len(b) {
			interleaved.WriteString(b[i])
		}
	}
	for _, tc := range []struct {
		name, input string
		want        int
	}{
		{"one", string(reps[0]), 1},
		{"concatenated", string(reps[0]) + string(reps[1]) + string(reps[2]), 3},
		{"with twbench's lines", "twbench: client-closes: http1.1, closer client, 1333.33/s open loop against http://10.0.0.9:8080/\n" +
			string(reps[0]) + "twbench: client-closes: ...\n" + string(reps[1]) + "\n\n" + string(reps[2]) + "twbench: scenario client-closes: no request succeeded\n", 3},
		{"compact, no newline between", strings.ReplaceAll(string(reps[0]), "\n", "") + strings.ReplaceAll(string(reps[1]), "\n", ""), 2},
		{"prefixed, interleaved", interleaved.String(), 2},
		{"CRLF", strings.ReplaceAll(string(reps[0])+string(reps[1]), "\n", "\r\n"), 2},
	} {
		got, err := report.ReadReports("-", strings.NewReader(tc.input))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got) != tc.want {
			t.Errorf("%s: %d reports; want %d", tc.name, len(got), tc.want)
			continue
		}
		if tc.want > 1 && !strings.HasPrefix(got[1].Input, "-:") {
			t.Errorf("%s: the second report's input is %q; want -:LINE", tc.name, got[1].Input)
		}
		if tc.want == 1 && got[0].Input != "-" {
			t.Errorf("%s: the input is %q; want -", tc.name, got[0].Input)
		}
	}
}

// What is not reports is refused, with its line.
func TestReadReportsRefuses(t *testing.T) {
	reps := shardsJSON(t)
	lines := strings.Count(string(reps[0]), "\n")
	tail := strings.Split(string(reps[1]), "\n")
	for _, tc := range []struct {
		name, input, want string
	}{
		{"empty", "", "-: no report in it"},
		{"only twbench's lines", "twbench: scenario x: no request succeeded\n", "-: no report in it"},
		{"garbage between", string(reps[0]) + "panic: runtime error\n" + string(reps[1]),
			fmt.Sprintf(`-:%d: not a twbench JSON report: "panic: runtime error"`, lines+1)},
		{"cut short", string(reps[0]) + string(reps[1][:len(reps[1])/2]),
			fmt.Sprintf("-:%d: a report cut short: the input ends inside it (kubectl logs with -l gives only the last 10 lines of each pod unless told --tail=-1)", lines+1)},
		{"the last 10 lines", strings.Join(tail[len(tail)-11:], "\n"), "-:1: not a twbench JSON report: "},
		{"broken JSON", string(reps[0]) + "{\n  \"schema\": \"twbench.report/v1\",\n  \"runs\": [,]\n}\n",
			fmt.Sprintf("-:%d: not JSON: invalid character ','", lines+3)},
		{"another document", `{"level":"info","msg":"hello"}` + "\n", `-:1: schema "": want "twbench.report/v1"`},
	} {
		_, err := report.ReadReports("-", strings.NewReader(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.want)
		}
	}
	_, err := report.ReadReports("-", strings.NewReader(strings.Join(tail[len(tail)-11:], "\n")))
	if err == nil || !strings.Contains(err.Error(), "--tail=-1") {
		t.Errorf("the last 10 lines of a report: %v; want the hint about kubectl logs --tail=-1", err)
	}
}
