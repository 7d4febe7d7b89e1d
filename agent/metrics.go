package agent

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twbench/twbench/sockstat"
)

var (
	descSockets = prometheus.NewDesc("twbench_tcp_sockets",
		"TCP sockets of a port by end and state: end server is sockets whose local port is the port, end client those whose remote port is.",
		[]string{"port", "end", "state"}, nil)
	descSampleSeconds = prometheus.NewDesc("twbench_sample_duration_seconds",
		"How long the socket-state sample of a port took (the kernel walks every socket on the host).",
		[]string{"port"}, nil)
	descSampleError = prometheus.NewDesc("twbench_sample_error",
		"1 when the socket states of a port could not be sampled at this scrape.",
		[]string{"port"}, nil)
	descCounter = prometheus.NewDesc("twbench_kernel_tcp_total",
		"The kernel's TCP counters (/proc/net/netstat TcpExt, /proc/net/snmp Tcp) for the network namespace, by their kernel names.",
		[]string{"counter"}, nil)
	descSysctl = prometheus.NewDesc("twbench_sysctl",
		"The host's TCP settings with a single number as value.",
		[]string{"name"}, nil)
	descPortRange = prometheus.NewDesc("twbench_ephemeral_port_range",
		"net.ipv4.ip_local_port_range: the lowest and highest ephemeral port.",
		[]string{"bound"}, nil)
	descUsablePorts = prometheus.NewDesc("twbench_ephemeral_ports_usable",
		"Ephemeral ports connect() can pick from: the range less ip_local_reserved_ports.",
		nil, nil)
)

// metricsCollector samples the agent's ports at each scrape: Prometheus's
// own interval then sets the sampling cost.
type metricsCollector struct{ a *Server }

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSockets, descSampleSeconds, descSampleError, descCounter, descSysctl, descPortRange, descUsablePorts} {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, port := range c.a.metricsPorts() {
		p := strconv.Itoa(int(port))
		s, cost, err := sampleOnce(netip.AddrPortFrom(netip.Addr{}, port))
		failed := 0.0
		if err != nil {
			failed = 1
		}
		ch <- prometheus.MustNewConstMetric(descSampleError, prometheus.GaugeValue, failed, p)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descSampleSeconds, prometheus.GaugeValue, cost.Seconds(), p)
		for _, st := range sockstat.ConnStates() {
			ch <- prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(s.Server[st]), p, "server", st.String())
			ch <- prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(s.Client[st]), p, "client", st.String())
		}
	}
	if counters, err := sockstat.ReadCounters(); err == nil {
		for name, v := range counters {
			ch <- prometheus.MustNewConstMetric(descCounter, prometheus.CounterValue, float64(v), name)
		}
	}
	host, _ := sockstat.ReadHost()
	for name := range host.Sysctl {
		if v, ok := host.Int(name); ok {
			ch <- prometheus.MustNewConstMetric(descSysctl, prometheus.GaugeValue, float64(v), name)
		}
	}
	if lo, hi, err := host.PortRange(); err == nil {
		ch <- prometheus.MustNewConstMetric(descPortRange, prometheus.GaugeValue, float64(lo), "low")
		ch <- prometheus.MustNewConstMetric(descPortRange, prometheus.GaugeValue, float64(hi), "high")
		ch <- prometheus.MustNewConstMetric(descUsablePorts, prometheus.GaugeValue, float64(host.UsablePorts(lo, hi)))
	}
}

// sampleOnce takes one sample of target with a sampler of its own.
func sampleOnce(target netip.AddrPort) (sockstat.Sample, time.Duration, error) {
	s, err := sockstat.NewSampler(target)
	if err != nil {
		return sockstat.Sample{}, 0, err
	}
	defer s.Close()
	begin := time.Now()
	smp, err := s.Sample()
	return smp, time.Since(begin), err
}
