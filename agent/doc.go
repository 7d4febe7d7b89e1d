// Package agent serves a host's socket states over HTTP for a run whose
// server end twbench does not run itself: `twbench agent`, and the agent
// `twbench serve` starts beside its listeners.
//
// The API (PathHost, PathSeries, PathMetrics) gives the host's kernel
// settings, TCP counters and clock (HostInfo), a stream of samples of a
// port's two ends, one JSON line each (SeriesLine), and Prometheus metrics.
// Every request is bounded (Config: a token, a request rate, a number of
// streams, the size of a query and of its headers). Client reads the API
// from `twbench run --server-agent`, estimates the agent's clock against
// this host's (Clock) and ends a stream the agent stopped feeding.
//
// The sampling itself is package sockstat's; the agent knows nothing of the
// load whose sockets it samples.
package agent
