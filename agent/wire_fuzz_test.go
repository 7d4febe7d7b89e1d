package agent

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench/sockstat"
)

// FuzzReadSeries reads any bytes as a series stream: every line is handed
// on or refused with an error, never a panic, and a sample handed on has
// a time, and counts and timers a sample can have.
func FuzzReadSeries(f *testing.F) {
	s := sockstat.Sample{At: time.Unix(1700000000, 5), Cost: 3 * time.Millisecond, MaxTimeWaitLeft: 59 * time.Second,
		ServerNewTimeWait: 4, ClientNewTimeWait: 1}
	s.Server[sockstat.TimeWait] = 7
	good := `{"header":{"matched":"127.0.0.1:80","interval_s":0.1}}` + "\n" + string(mustLine(f, s)) + "\n"
	f.Add([]byte(good))
	f.Add([]byte(good[:len(good)-9]))
	f.Add([]byte(`{"sample":{"at_ns":1}}` + "\n"))
	f.Add([]byte(`{"error":"too many streams"}` + "\n"))
	f.Add([]byte(`{"header":{}}` + "\n" + `{"sample":{"at_ns":1,"cost_us":9223372036854775807,"max_time_wait_left_ms":-1}}` + "\n"))
	f.Add([]byte(`{"header":{}}` + "\n" + `{"sample":{"at_ns":1,"cost_us":9223372036854775807}}` + "\n"))
	f.Add([]byte(`{"header":{}}` + "\n" + `{"sample":{"at_ns":1,"max_time_wait_left_ms":9223372036854775807}}` + "\n"))
	f.Add([]byte(strings.Repeat("x", maxLine+1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readSeries(bytes.NewReader(data), func() {}, func(SeriesHeader) {}, func(s sockstat.Sample) {
			if s.At.UnixNano() <= 0 || s.Cost < 0 || s.MaxTimeWaitLeft < 0 || s.ServerNewTimeWait < 0 || s.ClientNewTimeWait < 0 {
				t.Fatalf("a sample handed on with %+v", s)
			}
		})
	})
}

func mustLine(f *testing.F, s sockstat.Sample) []byte {
	w := toWire(s)
	b, err := json.Marshal(SeriesLine{Sample: &w})
	if err != nil {
		f.Fatal(err)
	}
	return b
}
