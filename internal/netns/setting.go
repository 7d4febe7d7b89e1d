package netns

import "strings"

// Setting is a sysctl set inside a namespace: its name as sysctl(8)
// writes it (net.ipv4.tcp_tw_reuse) and its value as /proc/sys takes it
// ("32768 60999" for a range).
type Setting struct {
	Name, Value string
}

// path is the setting's file under /proc/sys.
func (s Setting) path() string {
	return "/proc/sys/" + strings.ReplaceAll(s.Name, ".", "/")
}
