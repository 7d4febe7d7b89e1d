package sockstat

import (
	"strings"
	"testing"
)

func TestParseNetNamespace(t *testing.T) {
	for _, tc := range []struct {
		boot, link, want string
	}{
		{"5f0e6c1a-0d7b-4f4e-9a55-2f0b0b7c2a11\n", "net:[4026531840]", "5f0e6c1a-0d7b-4f4e-9a55-2f0b0b7c2a11/4026531840"},
		{"b\n", "net:[1]", "b/1"},
		{"", "net:[1]", ""},
		{"b", "mnt:[1]", ""},
		{"b", "net:[]", ""},
		{"b", "net:[1", ""},
	} {
		got, err := parseNetNamespace(tc.boot, tc.link)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("parseNetNamespace(%q, %q) = %q, %v; want %q", tc.boot, tc.link, got, err, tc.want)
		}
	}
	ns, err := NetNamespace()
	if err != nil || !strings.Contains(ns, "/") {
		t.Errorf("NetNamespace() = %q, %v", ns, err)
	}
}
