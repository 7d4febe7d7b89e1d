package scenario

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/twbench/twbench/loadgen"
)

// The topologies: where a scenario's client and the built-in target run.
const (
	// TopologyHost runs both on this host's network, the default.
	TopologyHost = "host"
	// TopologyNetns runs both in a network namespace of the run's own,
	// over its loopback: the host's regime, isolated.
	TopologyNetns = "netns"
	// TopologyVeth runs the client and the target in two namespaces
	// joined by a veth pair: the network regime.
	TopologyVeth = "veth"
)

// The veth topology's addresses, from the benchmarking range 198.18.0.0/15
// (RFC 2544), which no real network routes: the server's end and the
// client's, on one /24.
var (
	VethServer = netip.MustParsePrefix("198.18.0.1/24")
	VethClient = netip.MustParsePrefix("198.18.0.2/24")
)

// TopologyInfo describes a topology, for flag help, errors and docs.
type TopologyInfo struct {
	Name string
	What string
}

// Topologies lists the topologies.
func Topologies() []TopologyInfo {
	return []TopologyInfo{
		{TopologyHost, "client and built-in target on this host's network (the default)"},
		{TopologyNetns, "both in a private network namespace, over its loopback: the host's regime, isolated"},
		{TopologyVeth, "client and target in two private namespaces joined by a veth pair (198.18.0.0/15): the network regime"},
	}
}

// TopologyNames lists the topologies' names.
func TopologyNames() []string {
	var names []string
	for _, t := range Topologies() {
		names = append(names, t.Name)
	}
	return names
}

// NamespaceSetting is a sysctl a scenario may set in the private
// namespaces of its topology, never on the host: its key in a scenario
// file (and the key's flag, with dashes), the sysctl, and how its value is
// written. Every private namespace of the run gets it.
type NamespaceSetting struct {
	Key    string
	Sysctl string
	Help   string
	// Parse checks a value as written and returns it as /proc/sys takes
	// it.
	Parse func(text string) (string, error)
}

// Flag is the setting's command-line flag: its key with dashes.
func (n NamespaceSetting) Flag() string { return strings.ReplaceAll(n.Key, "_", "-") }

// NamespaceSettings lists the settings a topology's namespaces take.
func NamespaceSettings() []NamespaceSetting {
	return []NamespaceSetting{
		{Key: "port_range", Sysctl: "net.ipv4.ip_local_port_range",
			Help: "ephemeral ports LO-HI of the run's private namespaces (ip_local_port_range; LO at least 1024)", Parse: parseNamespacePorts},
		{Key: "tw_reuse", Sysctl: "net.ipv4.tcp_tw_reuse",
			Help: "tcp_tw_reuse in the run's private namespaces: 0 off, 1 everywhere, 2 loopback only", Parse: parseChoice("0", "1", "2")},
		{Key: "max_tw_buckets", Sysctl: "net.ipv4.tcp_max_tw_buckets",
			Help: "tcp_max_tw_buckets in the run's private namespaces: TIME_WAIT sockets past it are dropped", Parse: parseCount},
		{Key: "fin_timeout", Sysctl: "net.ipv4.tcp_fin_timeout",
			Help: "tcp_fin_timeout in the run's private namespaces, in seconds: how long an orphaned FIN_WAIT2 lasts (not TIME_WAIT)", Parse: parseSeconds},
	}
}

// namespaceSetting returns the setting with key.
func namespaceSetting(key string) (NamespaceSetting, bool) {
	i := slices.IndexFunc(NamespaceSettings(), func(n NamespaceSetting) bool { return n.Key == key })
	if i < 0 {
		return NamespaceSetting{}, false
	}
	return NamespaceSettings()[i], true
}

// minNamespacePort is the lowest ephemeral port a namespace takes: the
// kernel refuses a range below net.ipv4.ip_unprivileged_port_start,
// 1024 in a new namespace.
const minNamespacePort = 1024

// DefaultNamespacePorts is a new network namespace's ephemeral range: the
// kernel's default, whatever the host's is.
var DefaultNamespacePorts = loadgen.PortRange{Lo: 32768, Hi: 60999}

func parseNamespacePorts(text string) (string, error) {
	r, err := loadgen.ParsePortRange(text)
	if err != nil {
		return "", err
	}
	if r.Lo < minNamespacePort {
		return "", fmt.Errorf("%q: want LO of at least %d (the kernel keeps the ports below for servers)", text, minNamespacePort)
	}
	return fmt.Sprintf("%d %d", r.Lo, r.Hi), nil
}

func parseChoice(choices ...string) func(string) (string, error) {
	return func(text string) (string, error) {
		t := strings.TrimSpace(text)
		if !slices.Contains(choices, t) {
			return "", fmt.Errorf("%q: want %s", text, strings.Join(choices, ", "))
		}
		return t, nil
	}
}

func parseCount(text string) (string, error) {
	n, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(text), "_", ""), 10, 32)
	if err != nil || n < 0 {
		return "", fmt.Errorf("%q: want a whole number from 0 to %d", text, int32(^uint32(0)>>1))
	}
	return strconv.FormatInt(n, 10), nil
}

// maxJiffiesSeconds is the most seconds a sysctl kept in jiffies takes on
// any kernel: INT_MAX / HZ, at the largest HZ (1000). The kernel refuses
// more with EINVAL only when the namespace is made.
const maxJiffiesSeconds = math.MaxInt32 / 1000

// parseSeconds checks a sysctl in seconds that the kernel keeps in
// jiffies (tcp_fin_timeout).
func parseSeconds(text string) (string, error) {
	v, err := parseCount(text)
	if n, _ := strconv.ParseInt(v, 10, 32); err != nil || n > maxJiffiesSeconds {
		return "", fmt.Errorf("%q: want whole seconds from 0 to %d (the kernel keeps them in jiffies)", text, maxJiffiesSeconds)
	}
	return v, nil
}

// TopologyName returns the scenario's topology: host when none was given.
func (s *Scenario) TopologyName() string {
	if s.Topology == "" {
		return TopologyHost
	}
	return s.Topology
}

// Private reports whether the scenario runs in private namespaces.
func (s *Scenario) Private() bool { return s.TopologyName() != TopologyHost }

// Sysctls returns the namespace settings as sysctl names and values as
// /proc/sys takes them, in the table's order. s must be valid.
func (s *Scenario) Sysctls() [][2]string {
	var out [][2]string
	for _, n := range NamespaceSettings() {
		if text, ok := s.NamespaceSettings[n.Key]; ok {
			v, _ := n.Parse(text)
			out = append(out, [2]string{n.Sysctl, v})
		}
	}
	return out
}

// namespacePorts is the ephemeral range of the scenario's client
// namespace.
func (s *Scenario) namespacePorts() loadgen.PortRange {
	if r, err := loadgen.ParsePortRange(s.NamespaceSettings["port_range"]); err == nil {
		return r
	}
	return DefaultNamespacePorts
}

// TopologyProblems returns what is wrong with the scenario's topology,
// its namespace settings and its proxy: Validate's part that watch's
// flags share.
func (s *Scenario) TopologyProblems() []FieldError {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Err: fmt.Errorf(format, args...)})
	}
	if !slices.Contains(TopologyNames(), s.TopologyName()) {
		add("topology", "%q: want %s", s.Topology, strings.Join(TopologyNames(), ", "))
	}
	for _, n := range NamespaceSettings() {
		text, ok := s.NamespaceSettings[n.Key]
		if !ok {
			continue
		}
		if _, err := n.Parse(text); err != nil {
			add(n.Key, "%v", err)
		} else if !s.Private() {
			add(n.Key, "sets %s inside a private network namespace, never on the host: give topology %s or %s",
				n.Sysctl, TopologyNetns, TopologyVeth)
		}
	}
	if s.Private() && s.Target != "" {
		add("target", "topology %s runs twbench's built-in target inside its namespaces: give no target", s.TopologyName())
	}
	for _, text := range s.Sources {
		a, err := parseSource(text)
		if err != nil {
			continue // Validate says so
		}
		switch {
		case s.TopologyName() == TopologyNetns && !(a.Is4() && a.IsLoopback()):
			add("source", "%s: topology netns runs over its namespace's loopback: give addresses in 127.0.0.0/8", text)
		case s.TopologyName() == TopologyVeth && a != VethClient.Addr():
			add("source", "%s: topology veth's client has one address, %s: give no source", text, VethClient.Addr())
		}
	}
	if s.Proxy {
		switch {
		case s.Target != "":
			add("proxy", "the built-in proxy stands in front of the built-in target: give no target")
		case s.Protocol != loadgen.HTTP10 && s.Protocol != loadgen.HTTP11:
			add("proxy", "the built-in proxy speaks HTTP: protocol %s is not proxied", s.Protocol)
		}
	}
	if s.UpstreamKeepAlive && !s.Proxy {
		add("upstream_keepalive", "is the built-in proxy's: give proxy: true")
	}
	return errs
}

// errNoSetting is an unknown namespace setting.
var errNoSetting = errors.New("not a namespace setting")

// setNamespace sets a namespace setting by its key.
func (s *Scenario) setNamespace(key, text string) error {
	if _, ok := namespaceSetting(key); !ok {
		return errNoSetting
	}
	if s.NamespaceSettings == nil {
		s.NamespaceSettings = map[string]string{}
	}
	s.NamespaceSettings[key] = strings.TrimSpace(text)
	return nil
}
