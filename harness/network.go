package harness

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/twbench/twbench/internal/netns"
	"github.com/twbench/twbench/report"
	"github.com/twbench/twbench/scenario"
	"github.com/twbench/twbench/sockstat"
)

// The veth topology's two ends (scenario.VethServer, VethClient).
var (
	vethServer = netns.End{Name: "tw-server", Addr: scenario.VethServer}
	vethClient = netns.End{Name: "tw-client", Addr: scenario.VethClient}
)

// The built-in target's ports in private namespaces, below every
// ephemeral range a namespace may have (port_range starts at 1024 or
// above), so that it takes none of the client's ports: the proxy's
// upstream listens beside it.
const (
	privateTargetPort   = 80
	privateUpstreamPort = 81
)

// network is the private network a job runs in (Isolate). It is made in
// a child process whose own network namespace is the client's, so that
// every socket the load makes, whichever thread makes it, is the
// client's: Go dials from any thread, and a socket is in the namespace of
// the thread that made it. The server side is made inside the server's
// namespace: its listeners by a thread there (the connections they accept
// are theirs), its dials from threads kept there.
type network struct {
	topology string
	userns   bool
	own      *netns.Namespace
	// server is the server's namespace under veth; nil when it is the
	// client's (netns).
	server *netns.Namespace
	// dialer dials from the server's namespace: the proxy's upstream.
	dialer                 *netns.Dialer
	clientAddr, serverAddr netip.Addr
}

// newNetwork makes the job's network: the settings and loopback in the
// process's own namespace, and under veth the server's namespace, with
// the same settings, joined to it by a veth pair.
func newNetwork(topology string, sysctls [][2]string, userns bool) (*network, error) {
	var settings []netns.Setting
	for _, kv := range sysctls {
		settings = append(settings, netns.Setting{Name: kv[0], Value: kv[1]})
	}
	own, err := netns.Own()
	if err != nil {
		return nil, err
	}
	n := &network{topology: topology, userns: userns, own: own,
		clientAddr: netip.MustParseAddr("127.0.0.1"), serverAddr: netip.MustParseAddr("127.0.0.1")}
	if err := own.Apply(settings); err != nil {
		n.close()
		return nil, err
	}
	switch topology {
	case scenario.TopologyNetns:
	case scenario.TopologyVeth:
		if n.server, err = netns.Create(settings); err != nil {
			n.close()
			return nil, err
		}
		if err := netns.Veth(own, vethClient, n.server, vethServer); err != nil {
			n.close()
			return nil, err
		}
		n.clientAddr, n.serverAddr = vethClient.Addr.Addr(), vethServer.Addr.Addr()
		if n.dialer, err = n.server.Dialer(net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}, 8); err != nil {
			n.close()
			return nil, err
		}
	default:
		n.close()
		return nil, fmt.Errorf("harness: no topology %q", topology)
	}
	return n, nil
}

func (n *network) close() {
	if n.dialer != nil {
		n.dialer.Close()
	}
	if n.server != nil {
		n.server.Close()
	}
	n.own.Close()
}

// inServer runs f in the server's namespace: its own, or the client's.
func (n *network) inServer(f func() error) error {
	if n == nil || n.server == nil {
		return f()
	}
	return n.server.Do(f)
}

// serverNetns is the server's namespace when it has one of its own.
func (n *network) serverNetns() Netns {
	if n == nil || n.server == nil {
		return nil
	}
	return n.server
}

// places are the namespaces an endpoint is sampled in: the client's (nil,
// the process's own) and the server's own, if it has one. Sockets are in
// one of them, never both: their counts add up.
func (n *network) places() []Netns {
	if n == nil || n.server == nil {
		return []Netns{nil}
	}
	return []Netns{nil, n.server}
}

// describe is the run's topology for its report.
func (n *network) describe() *report.Topology {
	if n == nil {
		return nil
	}
	return &report.Topology{Name: n.topology, UserNamespace: n.userns,
		ClientAddress: n.clientAddr.String(), ServerAddress: n.serverAddr.String()}
}

// serverSide reads the server's namespace's settings and counters, when
// it has one of its own.
func (n *network) serverSide() (host *sockstat.Host, counters sockstat.Counters, err error) {
	if n == nil || n.server == nil {
		return nil, nil, nil
	}
	err = n.server.Do(func() error {
		h, herr := sockstat.ReadHost()
		c, cerr := sockstat.ReadCounters()
		host, counters = &h, c
		return errors.Join(herr, cerr)
	})
	return host, counters, err
}
