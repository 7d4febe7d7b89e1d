package scenario_test

import (
	"strings"
	"testing"

	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/target"
)

func TestSuitesAndRemedyKeys(t *testing.T) {
	cat, err := scenario.Parse("t.yaml", []byte(`
suites:
  fixes: [b, a]
  one: [a]
scenarios:
  - name: a
    protocol: http1.0
    closer: server
    topology: veth
    fin_timeout: 5
    duration: 4s
    reuseaddr: false
    restart_at: 2s
  - name: b
    protocol: http1.0
    reuseport: 4
    baseline: a
`))
	if err != nil {
		t.Fatalf("Parse error = %v", err)
	}
	if got := strings.Join(cat.SuiteNames(), ","); got != "fixes,one" {
		t.Errorf("SuiteNames() = %s; want fixes,one", got)
	}
	fixes, ok := cat.Suite("fixes")
	if !ok || len(fixes) != 2 || fixes[0].Name != "b" || fixes[1].Name != "a" {
		t.Errorf("Suite(fixes) = %v, %v; want b, a", fixes, ok)
	}
	if _, ok := cat.Suite("nope"); ok {
		t.Errorf("Suite(nope) found")
	}
	a, _ := cat.Lookup("a")
	if got := a.Sysctls(); len(got) != 1 || got[0] != [2]string{"net.ipv4.tcp_fin_timeout", "5"} {
		t.Errorf("Sysctls() = %v; want tcp_fin_timeout 5", got)
	}
	if a.ListenOptions() != (target.ListenOptions{NoReuseAddr: true}) || a.RestartDelay().String() != "2s" {
		t.Errorf("a: listen %+v, restart %v; want no SO_REUSEADDR, 2s", a.ListenOptions(), a.RestartDelay())
	}
	b, _ := cat.Lookup("b")
	if b.ListenOptions() != (target.ListenOptions{ReusePort: 4}) || b.Baseline != "a" {
		t.Errorf("b: listen %+v, baseline %q; want 4 SO_REUSEPORT listeners, a", b.ListenOptions(), b.Baseline)
	}
	if _, tcp := b.BuiltinTarget(); tcp.Listen.ReusePort != 4 {
		t.Errorf("b's built-in target: listen %+v; want reuseport 4", tcp.Listen)
	}
}

func TestSuiteAndRemedyKeyErrors(t *testing.T) {
	_, err := scenario.Parse("t.yaml", []byte(`
suites:
  fixes: [a, nope]
  empty: []
  fixes: [a]
scenarios:
  - name: a
    reuseport: 65
    restart_at: 20s
    baseline: a
  - name: b
    baseline: zz
  - name: c
    fin_timeout: 5
    restart_at: 1s
    proxy: true
  - name: d
    target: http://127.0.0.1:8080/
    reuseaddr: no
  - name: e
    proxy: true
    reuseport: 2
`))
	for _, want := range []string{
		`t.yaml:3: suites: fixes: no scenario "nope" in this file`,
		`t.yaml:4: suites: empty: an empty list`,
		`t.yaml:5: suites: suite "fixes" given twice (first at line 3)`,
		`t.yaml:8: reuseport: 65: want 1 to 64 listeners`,
		`t.yaml:9: scenario "a": restart_at: 20s: want a time within the load's duration (10s)`,
		`t.yaml:10: scenario "a": baseline: "a" is this scenario`,
		`t.yaml:12: scenario "b": baseline: no scenario "zz" in this file`,
		`t.yaml:14: scenario "c": fin_timeout: sets net.ipv4.tcp_fin_timeout inside a private network namespace`,
		`t.yaml:15: scenario "c": restart_at: restarts the built-in target, not the proxy`,
		`t.yaml:19: scenario "d": reuseaddr: sets up twbench's built-in target: give no target`,
		`t.yaml:22: scenario "e": reuseport: sets up the built-in target's listener, not the proxy's: give no proxy`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v\nwant it to contain %q", err, want)
		}
	}
}

// A list of scenario names names each once.
func TestSuiteListsTwice(t *testing.T) {
	_, err := scenario.Parse("t.yaml", []byte(`
default: [a, a]
suites:
  twice: [a, b, a]
scenarios:
  - name: a
  - name: b
`))
	for _, want := range []string{`t.yaml:2: default: "a" listed twice (first at line 2)`, `t.yaml:4: suites: twice: "a" listed twice (first at line 4)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v\nwant it to contain %q", err, want)
		}
	}
}
