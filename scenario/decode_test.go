package scenario_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twbench/twbench"
	"github.com/twbench/twbench/loadgen"
	"github.com/twbench/twbench/scenario"
)

func TestParseDefaultCatalogue(t *testing.T) {
	cat, err := scenario.Parse(twbench.DefaultCatalogueFile, twbench.DefaultCatalogue())
	if err != nil {
		t.Fatalf("the embedded catalogue does not parse: %v", err)
	}
	want := []struct {
		name     string
		protocol loadgen.Protocol
		closer   loadgen.Closer
	}{
		{"ab-finding", loadgen.HTTP10, loadgen.CloserServer},
		{"client-closes", loadgen.HTTP11, loadgen.CloserClient},
		{"keepalive", loadgen.HTTP11, loadgen.CloserNone},
	}
	suite := cat.DefaultSuite()
	if len(suite) != len(want) {
		t.Fatalf("default suite has %d scenarios; want %d", len(suite), len(want))
	}
	for i, w := range want {
		s := suite[i]
		if s.Name != w.name || s.Protocol != w.protocol || s.Closer != w.closer {
			t.Errorf("scenario %d = %s %s %s; want %s %s %s", i, s.Name, s.Protocol, s.Closer, w.name, w.protocol, w.closer)
		}
		if s.Description == "" {
			t.Errorf("scenario %s has no description", s.Name)
		}
		if s.Rate != 4000 || time.Duration(s.Duration) != 10*time.Second {
			t.Errorf("scenario %s: rate %g for %v; want 4000/s for 10s", s.Name, s.Rate, s.Duration)
		}
	}
}

func TestCloseMatrixScenarios(t *testing.T) {
	cat, err := scenario.Parse("scenarios.yaml", twbench.DefaultCatalogue())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"port-exhaustion", "server-closes-ports-free", "rst-client", "rst-server",
		"half-close", "tcp-client-closes", "tcp-server-closes", "connect-only", "pool-recycle"} {
		s, ok := cat.Lookup(name)
		if !ok {
			t.Errorf("no scenario %q in the catalogue", name)
			continue
		}
		if s.Description == "" {
			t.Errorf("scenario %s has no description", name)
		}
		s.ApplyDefaults()
		if errs := s.Validate(); len(errs) > 0 {
			t.Errorf("scenario %s: %v", name, errs)
		}
	}
}

func TestParseCloseMatrixKeys(t *testing.T) {
	cat, err := scenario.Parse("s.yaml", []byte(`
default: [raw]
scenarios:
  - name: raw
    protocol: tcp
    closer: client
    request_size: 10
    response_size: 0
    half_close: true
    client_port_range: 40000-40099
    source: [127.0.0.2, 127.0.0.3]
  - name: pool
    protocol: http1.1
    closer: server
    requests_per_conn: 100
    source: 127.0.0.2, ::ffff:127.0.0.4
  - name: sized
    protocol: tcp
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.DefaultSuite(); len(got) != 1 || got[0].Name != "raw" {
		t.Errorf("default suite = %v; want [raw]", got)
	}
	raw, _ := cat.Lookup("raw")
	raw.ApplyDefaults()
	cfg := raw.Config("tcp://127.0.0.1:9")
	if cfg.RequestSize != 10 || cfg.ResponseSize != 0 || !cfg.HalfClose || cfg.PortRange != (loadgen.PortRange{Lo: 40000, Hi: 40099}) ||
		len(cfg.Sources) != 2 || cfg.Sources[1].String() != "127.0.0.3" {
		t.Errorf("raw's config = %+v", cfg)
	}
	pool, _ := cat.Lookup("pool")
	pool.ApplyDefaults()
	cfg = pool.Config("http://127.0.0.1:9/")
	if cfg.RequestsPerConn != 100 || len(cfg.Sources) != 2 || cfg.Sources[1].String() != "127.0.0.4" {
		t.Errorf("pool's config = %+v; want 100 requests per connection, sources unmapped", cfg)
	}
	sized, _ := cat.Lookup("sized")
	sized.ApplyDefaults()
	if sized.RequestSize != scenario.DefaultRequestSize || sized.ResponseSize != scenario.DefaultResponseSize {
		t.Errorf("tcp sizes = %d, %d; want the defaults", sized.RequestSize, sized.ResponseSize)
	}
}

func TestEmptyDefaultSuite(t *testing.T) {
	_, err := scenario.Parse("e.yaml", []byte("default: []\nscenarios:\n  - name: a\n"))
	if err == nil || !strings.Contains(err.Error(), "e.yaml:1: default: an empty list") {
		t.Errorf("Parse = %v; want e.yaml:1: default: an empty list", err)
	}
}

func TestCloseMatrixKeyErrors(t *testing.T) {
	_, err := scenario.Parse("m.yaml", []byte(`
default: [nope]
scenarios:
  - name: a
    protocol: http1.1
    closer: server
    half_close: true
  - name: b
    protocol: http1.1
    closer: none
    requests_per_conn: 10
  - name: c
    protocol: http1.1
    request_size: 10
  - name: d
    protocol: http1.1
    closer: client
    client_port_range: 5-4
  - name: e
    protocol: http1.1
    closer: client
    source: 127.0.0.1, nonsense
  - name: f
    protocol: tcp
    target: http://127.0.0.1:80/
  - name: g
    protocol: connect
    closer: client
    requests_per_conn: 2
  - name: h
    protocol: tcp
    request_size: 0
  - name: i
    protocol: http1.1
    closer: client
    source: [127.0.0.2, "::ffff:127.0.0.2"]
`))
	for _, want := range []string{
		`m.yaml:2: default: no scenario "nope"`,
		`m.yaml:7: scenario "a": half_close: the client's shutdown sends the first FIN, so it goes with closer client, not server`,
		`m.yaml:11: scenario "b": requests_per_conn: closer none keeps connections for the whole run`,
		`m.yaml:14: scenario "c": request_size: applies to protocol tcp, not http1.1`,
		`m.yaml:18: scenario "d": client_port_range: "5-4": want LO-HI`,
		`m.yaml:22: scenario "e": source: "nonsense" is not an IP address`,
		`m.yaml:25: scenario "f": target: "http://127.0.0.1:80/": protocol tcp wants a tcp:// target`,
		`m.yaml:29: scenario "g": requests_per_conn: 2: connect sends no requests`,
		`m.yaml:32: scenario "h": request_size: 0: want 1 to`,
		`m.yaml:36: scenario "i": source: 127.0.0.2 and ::ffff:127.0.0.2 are the same address`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v\nwant it to contain %q", err, want)
		}
	}
}

func TestParseFieldsAndDefaults(t *testing.T) {
	cat, err := scenario.Parse("s.yaml", []byte(`
scenarios:
  - name: full
    description: every key
    protocol: http1.1
    closer: client
    target: http://127.0.0.1:8080/x?y=1
    concurrency: 8
    rate: 1_000/s
    duration: 2s
    requests: 500
    timeout: 3s
    sample_interval: 50ms
  - name: bare
  - name: old
    protocol: http1.0
    requests: 10
`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range cat.Scenarios {
		cat.Scenarios[i].ApplyDefaults()
	}
	full, _ := cat.Lookup("full")
	want := scenario.Scenario{
		Name: "full", Description: "every key", Protocol: loadgen.HTTP11, Closer: loadgen.CloserClient,
		Target: "http://127.0.0.1:8080/x?y=1", Concurrency: 8, Rate: 1000,
		Duration: scenario.Duration(2 * time.Second), Requests: 500,
		Timeout: scenario.Duration(3 * time.Second), SampleInterval: scenario.Duration(50 * time.Millisecond),
	}
	if !sameFields(full, want) {
		t.Errorf("full = %+v; want %+v", full, want)
	}
	if full.Source != "s.yaml:3" || full.Line("rate") != 9 {
		t.Errorf("full.Source = %q, Line(rate) = %d; want s.yaml:3, 9", full.Source, full.Line("rate"))
	}

	bare, _ := cat.Lookup("bare")
	if bare.Protocol != loadgen.HTTP11 || bare.Closer != loadgen.CloserNone || bare.Concurrency != 64 ||
		time.Duration(bare.Duration) != 10*time.Second || time.Duration(bare.Timeout) != 10*time.Second ||
		time.Duration(bare.SampleInterval) != 100*time.Millisecond {
		t.Errorf("bare = %+v; want http1.1, none, 64 connections, 10s, 10s timeout, 100ms sampling", bare)
	}
	old, _ := cat.Lookup("old")
	if old.Closer != loadgen.CloserServer || old.Duration != 0 {
		t.Errorf("old = closer %s, duration %v; want http1.0's closer server and no duration with requests set", old.Closer, old.Duration)
	}
}

func sameFields(a, b scenario.Scenario) bool {
	a.Source, b.Source = "", ""
	return a.Name == b.Name && a.Description == b.Description && a.Protocol == b.Protocol &&
		a.Closer == b.Closer && a.Target == b.Target && a.Concurrency == b.Concurrency &&
		a.Rate == b.Rate && a.Duration == b.Duration && a.Requests == b.Requests &&
		a.Timeout == b.Timeout && a.SampleInterval == b.SampleInterval
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // each must appear in the error
	}{
		{"unknown key", "scenarios:\n  - name: a\n    rat: 5\n",
			[]string{`s.yaml:3: unknown key "rat" (did you mean "rate"?)`}},
		{"bad rate", "scenarios:\n  - name: a\n    rate: fast\n",
			[]string{`s.yaml:3: rate: "fast" is not a rate in requests per second`}},
		{"bad duration", "scenarios:\n  - name: a\n    duration: 10\n",
			[]string{`s.yaml:3: duration: "10" is not a duration such as 10s`}},
		{"bad concurrency", "scenarios:\n  - name: a\n    concurrency: many\n",
			[]string{`s.yaml:3: concurrency: "many" is not a whole number`}},
		{"negative concurrency", "scenarios:\n  - name: a\n    concurrency: -1\n",
			[]string{`s.yaml:3: scenario "a": concurrency: -1: want 1 to 100000`}},
		{"huge concurrency", "scenarios:\n  - name: a\n    concurrency: 1000000\n",
			[]string{`s.yaml:3: scenario "a": concurrency: 1000000: want 1 to 100000`}},
		{"tiny rate", "scenarios:\n  - name: a\n    rate: 1e-300\n",
			[]string{`s.yaml:3: scenario "a": rate: 1e-300: want 0 (closed loop) or a rate of at least 0.001`}},
		{"two documents", "scenarios:\n  - name: a\n---\nscenarios:\n  - name: b\n",
			[]string{`s.yaml:3: a second YAML document`}},
		{"bad protocol", "scenarios:\n  - name: a\n    protocol: http2\n",
			[]string{`s.yaml:3: scenario "a": protocol: unknown protocol "http2"`}},
		{"bad closer", "scenarios:\n  - name: a\n    closer: nobody\n",
			[]string{`s.yaml:3: scenario "a": closer: unknown closer "nobody"`}},
		{"closer the protocol cannot do", "scenarios:\n  - name: a\n    protocol: http1.0\n    closer: client\n",
			[]string{`s.yaml:4: scenario "a": closer: "client" needs keep-alive`}},
		{"https target", "scenarios:\n  - name: a\n    target: https://x/\n",
			[]string{`s.yaml:3: scenario "a": target: "https://x/": https is not supported`}},
		{"no name", "scenarios:\n  - rate: 5\n", []string{`s.yaml:2: scenario has no name`}},
		{"duplicate name", "scenarios:\n  - name: a\n  - name: a\n",
			[]string{`s.yaml:3: scenario "a" is defined twice (first at line 2)`}},
		{"duplicate key", "scenarios:\n  - name: a\n    rate: 1\n    rate: 2\n",
			[]string{`s.yaml:4: key "rate" given twice (first at line 3)`}},
		{"list value", "scenarios:\n  - name: a\n    rate: [1, 2]\n",
			[]string{`s.yaml:3: rate: want a single value, not a list`}},
		{"unknown top-level key", "scenario:\n  - name: a\n",
			[]string{`s.yaml:1: unknown key "scenario"`, `s.yaml: no "scenarios" list`}},
		{"not a list", "scenarios: 5\n", []string{`s.yaml:1: scenarios: want a list of scenarios`}},
		{"empty list", "scenarios: []\n", []string{`s.yaml:1: the scenarios list is empty`}},
		{"empty file", "", []string{`s.yaml: no scenarios`}},
		{"syntax", "scenarios:\n  - name: a\n\trate: 5\n", []string{`s.yaml:2: found a tab character that violates indentation`}},
		{"explicit zero", "scenarios:\n  - name: a\n    concurrency: 0\n    sample_interval: 0s\n",
			[]string{`s.yaml:3: scenario "a": concurrency: 0: want 1 to 100000`, `s.yaml:4: scenario "a": sample_interval: 0s: want at least 10ms`}},
		{"anchor and merge key", "base: &b\n  rate: 5\nscenarios:\n  - name: a\n    <<: *b\n",
			[]string{`s.yaml:1: YAML anchors, aliases and merge keys (&name, *name, <<) are not supported`}},
		{"alias", "scenarios:\n  - name: a\n    closer: &c client\n  - name: b\n    closer: *c\n",
			[]string{`s.yaml:3: YAML anchors, aliases and merge keys`}},
		{"escape in a description", "scenarios:\n  - name: a\n    description: \"red \\e[31m\"\n",
			[]string{`s.yaml:3: description: control character U+001B at byte 4: want plain text`}},
		{"every problem at once", "scenarios:\n  - name: a\n    rate: -1\n    timeout: 0s\n  - name: b\n    bogus: 1\n",
			[]string{`s.yaml:3: scenario "a": rate: -1`, `s.yaml:4: scenario "a": timeout: 0s: want more than 0`, `s.yaml:6: unknown key "bogus"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scenario.Parse("s.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("Parse(%q) = nil error; want %q", tc.yaml, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Parse(%q) = %q; want it to contain %q", tc.yaml, err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "s.yaml") {
					t.Errorf("error line %q does not start with the file name", line)
				}
			}
		})
	}
}

func TestResponseBounds(t *testing.T) {
	cat, err := scenario.Parse("s.yaml", []byte("scenarios:\n  - name: a\n    max_header_bytes: 8192\n    max_body_bytes: 1_000_000\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := cat.Scenarios[0]
	s.ApplyDefaults()
	if cfg := s.Config("http://127.0.0.1:1/"); cfg.MaxHeaderBytes != 8192 || cfg.MaxBodyBytes != 1_000_000 {
		t.Errorf("config bounds = %d, %d; want 8192, 1000000", cfg.MaxHeaderBytes, cfg.MaxBodyBytes)
	}
	_, err = scenario.Parse("s.yaml", []byte("scenarios:\n  - name: a\n    max_header_bytes: 10\n"))
	if want := `s.yaml:3: scenario "a": max_header_bytes: 10: want 0 (the default, 65536) or 1024 to 1048576`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Parse(max_header_bytes: 10) = %v; want %q", err, want)
	}
}

func TestDescriptionOnOneLine(t *testing.T) {
	cat, err := scenario.Parse("s.yaml", []byte("scenarios:\n  - name: a\n    description: |\n      two\n      lines,\ttabbed   and spaced\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := cat.Scenarios[0].Description; got != "two lines, tabbed and spaced" {
		t.Errorf("description = %q; want one line", got)
	}
}

func TestDurationJSON(t *testing.T) {
	d := scenario.Duration(1500 * time.Millisecond)
	b, err := d.MarshalJSON()
	if err != nil || string(b) != `"1.5s"` {
		t.Fatalf("MarshalJSON(1.5s) = %s, %v; want \"1.5s\"", b, err)
	}
	var back scenario.Duration
	if err := back.UnmarshalJSON(b); err != nil || back != d {
		t.Errorf("UnmarshalJSON(%s) = %v, %v; want %v", b, back, err, d)
	}
	if err := back.UnmarshalJSON([]byte(`12`)); err == nil {
		t.Errorf("UnmarshalJSON(12) = nil error; want one")
	}
}

func TestServerPolicy(t *testing.T) {
	for closer, want := range map[loadgen.Closer]string{
		loadgen.CloserServer: "close", loadgen.CloserServerRST: "rst", loadgen.CloserClient: "keep-alive",
		loadgen.CloserClientRST: "keep-alive", loadgen.CloserNone: "keep-alive",
	} {
		s := scenario.Scenario{Closer: closer}
		if got := string(s.ServerPolicy()); got != want {
			t.Errorf("ServerPolicy(%s) = %s; want %s", closer, got, want)
		}
	}
}

// Parse leaves defaults to the caller, so that a request count given later
// is not cut short by the default duration.
func TestParseKeepsDefaultsOut(t *testing.T) {
	cat, err := scenario.Parse("s.yaml", []byte("scenarios:\n  - name: a\n    rate: 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := cat.Lookup("a")
	if s.Duration != 0 || s.Concurrency != 0 {
		t.Fatalf("parsed: duration %v, concurrency %d; want both unset", s.Duration, s.Concurrency)
	}
	if err := s.Set("requests", "300"); err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if s.Duration != 0 || s.Requests != 300 || s.Concurrency != 64 {
		t.Errorf("after -n 300: duration %v, requests %d, concurrency %d; want no duration, 300, 64", s.Duration, s.Requests, s.Concurrency)
	}
}

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		s    scenario.Scenario
		want string
	}{
		{scenario.Scenario{Rate: 4000, Concurrency: 64, Duration: scenario.Duration(10 * time.Second)},
			"4000/s open loop, at most 64 in flight, 10s"},
		{scenario.Scenario{Concurrency: 8, Duration: scenario.Duration(time.Second), Requests: 500},
			"closed loop, 8 connections, 1s or 500 requests"},
	} {
		if got := tc.s.Load(); got != tc.want {
			t.Errorf("Load() = %q; want %q", got, tc.want)
		}
	}
}

func TestParseExpect(t *testing.T) {
	cat, err := scenario.Parse("e.yaml", []byte(`scenarios:
  - name: list
    expect:
      - qps > 1
      - "errors.EADDRNOTAVAIL == 0"
  - name: one
    expect: server.time_wait_per_request > 0.9
`))
	if err != nil {
		t.Fatal(err)
	}
	list, _ := cat.Lookup("list")
	one, _ := cat.Lookup("one")
	want := []scenario.Expectation{{"qps > 1", "e.yaml:4"}, {"errors.EADDRNOTAVAIL == 0", "e.yaml:5"}}
	if len(list.Expect) != 2 || list.Expect[0] != want[0] || list.Expect[1] != want[1] {
		t.Errorf("list.Expect = %+v; want %+v", list.Expect, want)
	}
	if len(one.Expect) != 1 || one.Expect[0] != (scenario.Expectation{"server.time_wait_per_request > 0.9", "e.yaml:7"}) {
		t.Errorf("one.Expect = %+v; want the single expression at e.yaml:7", one.Expect)
	}

	_, err = scenario.Parse("e.yaml", []byte(`scenarios:
  - name: bad
    expect:
      - {qps: 1}
      - ""
`))
	for _, want := range []string{"e.yaml:4: expect: want an expression", "e.yaml:5: expect: an empty expression"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(bad expect) error = %v; want %q", err, want)
		}
	}
}

func TestTopologyKeys(t *testing.T) {
	cat, err := scenario.Parse("t.yaml", []byte(`
only_by_name: [slow]
scenarios:
  - name: a
    protocol: http1.1
    closer: client
    topology: veth
    port_range: 40000-40199
    tw_reuse: 1
    max_tw_buckets: 1_000
  - name: p
    protocol: http1.1
    topology: veth
    proxy: true
    upstream_keepalive: yes
  - name: slow
    protocol: http1.1
`))
	if err != nil {
		t.Fatalf("Parse error = %v", err)
	}
	a, _ := cat.Lookup("a")
	want := [][2]string{{"net.ipv4.ip_local_port_range", "40000 40199"}, {"net.ipv4.tcp_tw_reuse", "1"}, {"net.ipv4.tcp_max_tw_buckets", "1000"}}
	if got := a.Sysctls(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("Sysctls() = %v; want %v", got, want)
	}
	if a.TopologyName() != "veth" || !a.Private() {
		t.Errorf("topology %q, private %v; want veth, true", a.TopologyName(), a.Private())
	}
	if p, _ := cat.Lookup("p"); !p.Proxy || !p.UpstreamKeepAlive {
		t.Errorf("proxy %v, upstream keep-alive %v; want both", p.Proxy, p.UpstreamKeepAlive)
	}
	var all []string
	for _, s := range cat.All() {
		all = append(all, s.Name)
	}
	if strings.Join(all, ",") != "a,p" {
		t.Errorf("All() = %v; want a, p: slow runs only by name", all)
	}
	var host scenario.Scenario
	if host.TopologyName() != "host" || host.Private() {
		t.Errorf("no topology: %q, private %v; want host", host.TopologyName(), host.Private())
	}
}

func TestTopologyKeyErrors(t *testing.T) {
	_, err := scenario.Parse("t.yaml", []byte(`
only_by_name: [nope]
scenarios:
  - name: a
    topology: mars
  - name: b
    tw_reuse: 1
  - name: c
    topology: netns
    port_range: 80-90
  - name: d
    topology: veth
    target: http://127.0.0.1:8080/
  - name: e
    topology: netns
    tw_reuse: 3
    max_tw_buckets: -1
  - name: f
    protocol: tcp
    proxy: true
  - name: g
    upstream_keepalive: true
`))
	for _, want := range []string{
		`t.yaml:2: only_by_name: no scenario "nope"`,
		`t.yaml:5: scenario "a": topology: "mars": want host, netns, veth`,
		`t.yaml:7: scenario "b": tw_reuse: sets net.ipv4.tcp_tw_reuse inside a private network namespace, never on the host: give topology netns or veth`,
		`t.yaml:10: scenario "c": port_range: "80-90": want LO of at least 1024`,
		`t.yaml:13: scenario "d": target: topology veth runs twbench's built-in target inside its namespaces: give no target`,
		`t.yaml:16: scenario "e": tw_reuse: "3": want 0, 1, 2`,
		`t.yaml:17: scenario "e": max_tw_buckets: "-1": want a whole number`,
		`t.yaml:20: scenario "f": proxy: the built-in proxy speaks HTTP: protocol tcp is not proxied`,
		`t.yaml:22: scenario "g": upstream_keepalive: is the built-in proxy's: give proxy: true`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v\nwant it to contain %q", err, want)
		}
	}
}
