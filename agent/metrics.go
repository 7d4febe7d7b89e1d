package agent

import (
	"net/netip"
	"strconv"
	"sync"
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
	descAge = prometheus.NewDesc("twbench_metrics_age_seconds",
		"How old the figures of this scrape are: 0 when taken for it, more when an earlier scrape's are served again to keep sampling under 5% of a core.",
		nil, nil)
)

// metricsCollector samples the agent's ports at each scrape: Prometheus's
// own interval then sets the sampling cost, within a budget. A scrape whose
// samples took d is served again from the cache to scrapes within
// sockstat.NextWait(0, d) of it, as a series stream stretches its interval,
// so that scrapes at any rate keep sampling under 5% of a core (64 ports
// took 0.6 s of CPU a scrape, and six scrapes at once 1.2 s in 0.66 s).
type metricsCollector struct {
	a     *Server
	cache *scrapeCache
}

// scrapeCache holds the last scrape's figures.
type scrapeCache struct {
	mu      sync.Mutex
	at      time.Time
	cost    time.Duration
	metrics []prometheus.Metric
}

func (c metricsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSockets, descSampleSeconds, descSampleError, descCounter, descSysctl,
		descPortRange, descUsablePorts, descAge} {
		ch <- d
	}
}

func (c metricsCollector) Collect(ch chan<- prometheus.Metric) {
	metrics, age := c.cache.get(time.Now(), c.collect)
	for _, m := range metrics {
		ch <- m
	}
	ch <- prometheus.MustNewConstMetric(descAge, prometheus.GaugeValue, age.Seconds())
}

// get returns the cached figures and their age, or new ones from collect
// once the last collection's budget has passed. Concurrent scrapes wait
// for one collection and share it.
func (c *scrapeCache) get(now time.Time, collect func() ([]prometheus.Metric, time.Duration)) ([]prometheus.Metric, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || now.Sub(c.at) >= sockstat.NextWait(0, c.cost) {
		c.metrics, c.cost = collect()
		c.at = now
	}
	return c.metrics, now.Sub(c.at)
}

// collect samples every port and reads the counters and settings, and
// returns the figures and what the samples cost.
func (c metricsCollector) collect() ([]prometheus.Metric, time.Duration) {
	var out []prometheus.Metric
	var spent time.Duration
	for _, port := range c.a.metricsPorts() {
		p := strconv.Itoa(int(port))
		s, cost, err := sampleOnce(netip.AddrPortFrom(netip.Addr{}, port))
		spent += cost
		failed := 0.0
		if err != nil {
			failed = 1
		}
		out = append(out, prometheus.MustNewConstMetric(descSampleError, prometheus.GaugeValue, failed, p))
		if err != nil {
			continue
		}
		out = append(out, prometheus.MustNewConstMetric(descSampleSeconds, prometheus.GaugeValue, cost.Seconds(), p))
		for _, st := range sockstat.ConnStates() {
			out = append(out,
				prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(s.Server[st]), p, "server", st.String()),
				prometheus.MustNewConstMetric(descSockets, prometheus.GaugeValue, float64(s.Client[st]), p, "client", st.String()))
		}
	}
	if counters, err := sockstat.ReadCounters(); err == nil {
		for name, v := range counters {
			out = append(out, prometheus.MustNewConstMetric(descCounter, prometheus.CounterValue, float64(v), name))
		}
	}
	host, _ := sockstat.ReadHost()
	for name := range host.Sysctl {
		if v, ok := host.Int(name); ok {
			out = append(out, prometheus.MustNewConstMetric(descSysctl, prometheus.GaugeValue, float64(v), name))
		}
	}
	if lo, hi, err := host.PortRange(); err == nil {
		out = append(out,
			prometheus.MustNewConstMetric(descPortRange, prometheus.GaugeValue, float64(lo), "low"),
			prometheus.MustNewConstMetric(descPortRange, prometheus.GaugeValue, float64(hi), "high"),
			prometheus.MustNewConstMetric(descUsablePorts, prometheus.GaugeValue, float64(host.UsablePorts(lo, hi))))
	}
	return out, spent
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
