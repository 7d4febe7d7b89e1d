package scenario

import (
	"strings"
	"testing"

	"github.com/twbench/twbench/target"
)

func TestParseListener(t *testing.T) {
	for _, tc := range []struct {
		raw, addr string
		policy    target.Policy
		err       string
	}{
		{"http://127.0.0.1:8080", "127.0.0.1:8080", target.KeepAlive, ""},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", target.KeepAlive, ""},
		{"http://0.0.0.0:0?policy=close", "0.0.0.0:0", target.Close, ""},
		{"http://[::1]:80?policy=rst", "[::1]:80", target.Reset, ""},
		{"http://127.0.0.1:8080?closer=server", "127.0.0.1:8080", target.Close, ""},
		{"http://127.0.0.1:8080?closer=server-rst", "127.0.0.1:8080", target.Reset, ""},
		{"http://127.0.0.1:8080?closer=client", "127.0.0.1:8080", target.KeepAlive, ""},
		{"127.0.0.1:8080", "", "", "want http://host:port"},
		{"tcp://127.0.0.1:9000", "127.0.0.1:9000", target.KeepAlive, ""},
		{"tcp://127.0.0.1:9000?closer=server&request_size=0", "127.0.0.1:9000", target.Close, ""},
		{"tcp://127.0.0.1:9000?request_size=-1", "", "", `request_size "-1": want 0 to`},
		{"tcp://127.0.0.1:9000?request_size=0&closer=none", "", "", `a connect-only listener (request_size=0): closer "none" keeps connections open for requests, and connect sends none`},
		{"http://127.0.0.1:9000?response_size=5", "", "", "response_size is for tcp listeners"},
		{"http://127.0.0.1:9000?requests_per_conn=0", "", "", `requests_per_conn "0": want 1 to`},
		{"udp://127.0.0.1:9000", "", "", `unknown listener kind "udp"`},
		{"http://127.0.0.1", "", "", "want host:port"},
		{"http://127.0.0.1:99999", "", "", `port "99999"`},
		{"http://127.0.0.1:8080/x", "", "", "answers every path"},
		{"http://127.0.0.1:8080?policy=sometimes", "", "", `policy "sometimes"`},
		{"http://127.0.0.1:8080?closer=sometimes", "", "", `closer "sometimes"`},
		{"http://127.0.0.1:8080?policy=close&closer=server", "", "", "not both"},
		{"http://127.0.0.1:8080?keepalive=1", "", "", `unknown option "keepalive"`},
		{"http://127.0.0.1:8080?reuseaddr=maybe", "", "", `reuseaddr "maybe": want 1`},
		{"tcp://127.0.0.1:8080?reuseport=65", "", "", `reuseport "65": want 1 to 64`},
	} {
		l, err := ParseListener(tc.raw)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseListener(%q) error = %v; want one saying %q", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || l.Addr != tc.addr || l.Policy != tc.policy {
			t.Errorf("ParseListener(%q) = %s %s, %v; want %s %s", tc.raw, l.Addr, l.Policy, err, tc.addr, tc.policy)
		}
	}
	l, err := ParseListener("http://127.0.0.1:8080?closer=server&reuseaddr=0&reuseport=4")
	if want := (target.ListenOptions{NoReuseAddr: true, ReusePort: 4}); err != nil || l.TCP.Listen != want {
		t.Errorf("ParseListener(...reuseaddr=0&reuseport=4) listen options %+v, %v; want %+v", l.TCP.Listen, err, want)
	}
	if l, _ := ParseListener("http://127.0.0.1:8080"); l.TCP.Listen != (target.ListenOptions{}) {
		t.Errorf("ParseListener without options: listen options %+v; want Go's default", l.TCP.Listen)
	}
}
