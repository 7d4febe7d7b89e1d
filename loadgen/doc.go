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
//
// What comes from the server is bounded where it enters: responses are read
// by hand, their header block and body each up to a bound
// (Config.MaxHeaderBytes, MaxBodyBytes) with an error class of its own past
// it, bodies discarded as they arrive. The duration bounds a run: requests
// still in flight a second after its end are cut off and counted
// (Result.Cut); an interruption cuts them off at once (Result.Aborted). A
// dial cut off after its handshake counts as a connection, closed by the
// client.
//
// A Shard is one of N generators that share a workload, on one host or as
// the pods of a Kubernetes Indexed Job: Shard.Of deals out the connections
// and requests so that the shares add up exactly, and gives each shard every
// N-th send of the open-loop schedule, so that N shards started at one
// instant send on the schedule of one generator.
package loadgen
