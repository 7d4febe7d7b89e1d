// Package loadgen drives HTTP load with a deterministic closer: for each
// workload it decides which end of every connection sends the first FIN (or
// RST), and records, per connection, which end the client saw close first.
//
// A Generator runs closed loop (Concurrency connections, each sending its
// next request when the last one is answered) or open loop (Rate arrivals
// per second from one pacer timed from the start of the run, at most
// Concurrency in flight; latency measured from each request's intended send
// time, so a slow server cannot hide its queue). Workers keep their own
// tallies and buffer latencies, so the request path takes no lock and, on a
// keep-alive connection, allocates nothing.
package loadgen
