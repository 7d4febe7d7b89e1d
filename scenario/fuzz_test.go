package scenario_test

import (
	"strings"
	"testing"

	"github.com/twbench/twbench"
	"github.com/twbench/twbench/scenario"
)

// FuzzParse holds the decoder to its promise: any input is an error or a
// catalogue, never a panic, and every scenario it accepts is a valid
// workload once its defaults are applied.
func FuzzParse(f *testing.F) {
	f.Add(twbench.DefaultCatalogue())
	for _, seed := range []string{
		"scenarios:\n  - name: a\n",
		"scenarios:\n  - name: a\n    protocol: tcp\n    closer: client\n    request_size: 10\n    response_size: 0\n",
		"scenarios:\n  - name: a\n    protocol: connect\n    closer: server-rst\n    requests: 5\n    duration: 0\n",
		"scenarios:\n  - name: a\n    closer: client\n    source: [127.0.0.1, ::1]\n    client_port_range: 40000-40099\n",
		"scenarios:\n  - name: a\n    rate: 1e19\n    duration: 1h\n",
		"default: [a]\nscenarios:\n  - name: a\n    expect: [qps > 0]\n",
		"base: &b\n  rate: 5\nscenarios:\n  - name: a\n    <<: *b\n",
		"scenarios:\n  - name: a\n    requests_per_conn: 0\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := scenario.Parse("f.yaml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml") {
				t.Fatalf("Parse error %q does not name the file", msg)
			}
			return
		}
		for _, s := range cat.Scenarios {
			s.ApplyDefaults()
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("scenario %q was accepted, then Validate = %v", s.Name, errs)
			}
			target := s.Target
			if target == "" {
				target = s.Protocol.Scheme() + "://127.0.0.1:1/"
			}
			if err := s.Config(target).Validate(); err != nil {
				t.Fatalf("scenario %q was accepted, and its workload is not valid: %v", s.Name, err)
			}
		}
		if len(cat.DefaultSuite()) == 0 {
			t.Fatal("an accepted catalogue with an empty default suite")
		}
	})
}
