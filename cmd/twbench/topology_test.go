package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// What a private topology refuses, before anything runs: exit 2 and one
// line each.
func TestTopologyBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "ab-finding", "--tw-reuse", "1"}, "--tw-reuse: sets net.ipv4.tcp_tw_reuse inside a private network namespace, never on the host: give topology netns or veth (scenario ab-finding)"},
		{[]string{"run", "ab-finding", "--topology", "netns", "--port-range", "100-200"}, `--port-range: "100-200": want LO of at least 1024`},
		{[]string{"run", "--topology", "mars", "--protocol", "http1.1"}, `--topology: "mars": want host, netns, veth`},
		{[]string{"run", "--topology", "veth", "--target", "http://127.0.0.1:8080/"}, "topology veth runs twbench's built-in target inside its namespaces: give no target"},
		{[]string{"run", "ab-finding-network", "--server-agent", "http://127.0.0.1:9911"}, "--server-agent reads a server on another host"},
		{[]string{"watch", "--topology", "bogus", "--", "true"}, `--topology: "bogus": want host, netns, veth`},
		{[]string{"run", "--topology", "netns", "--fin-timeout", "8589935"}, `--fin-timeout: "8589935": want whole seconds from 0 to 2147483 (the kernel keeps them in jiffies)`},
		{[]string{"run", "--topology", "veth", "--source", "127.0.0.1"}, "--source: 127.0.0.1: topology veth's client has one address, 198.18.0.2: give no source"},
		{[]string{"run", "--topology", "netns", "--source", "198.18.0.2"}, "--source: 198.18.0.2: topology netns runs over its namespace's loopback: give addresses in 127.0.0.0/8"},
		{[]string{"run", "ab-finding", "--upstream-keepalive"}, "--upstream-keepalive: is the built-in proxy's"},
		{[]string{"run", "--proxy", "--protocol", "tcp"}, "--proxy: the built-in proxy speaks HTTP"},
		{[]string{"watch", "--max-tw-buckets", "10", "--serve", "http://127.0.0.1:0", "--", "true"}, "--max-tw-buckets: sets net.ipv4.tcp_max_tw_buckets inside a private network namespace"},
		{[]string{"watch", "--topology", "veth", "--target", "127.0.0.1:8080", "--", "true"}, "--topology veth runs the command in the client's namespace and twbench's target in the server's: give --serve"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, &stdout, &stderr)
		if exitCode(err) != exitUsage || err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("twbench %s: exit %d, %v; want 2 and one line with %q", strings.Join(tc.args, " "), exitCode(err), err, tc.want)
		}
	}
}
