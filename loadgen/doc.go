// Package loadgen drives HTTP load with a deterministic closer: for each
// workload it decides which end of every connection sends the first FIN (or
// RST), and records, per connection, which end the client saw close first.
//
// A Generator runs closed loop (Concurrency connections, each sending its
// next request when the last one is answered) or open loop (Rate arrivals
// per second on one schedule timed from the start of the run, at most
// Concurrency in flight; latency measured from each request's intended send
// time, so a slow server cannot hide its queue). The drivers keep their own
// tallies, summed when the run is over, not a record per request.
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
//
// # Clients
//
// Two clients drive the connections (Config.Client; twbench run --client),
// with the same guarantees: the same closer, the same close records, the
// same error classes, the same response reader and bounds, the same
// schedule and cut-offs. They differ in what a connection costs.
//
// The event loop, Linux's default, is built as wrk is: one loop per
// processor Go may use, each with its own epoll instance, driving
// non-blocking sockets made and connected with raw system calls. The
// socket options (IP_LOCAL_PORT_RANGE, IP_BIND_ADDRESS_NO_PORT and the
// source address, SO_LINGER for client-rst) are set before connect(); each
// socket is registered once, edge-triggered, and leaves the epoll set with
// its close(). A loop owns its connections (slots), its tallies and its
// latency histograms: nothing on its request path takes a lock, and a
// request or a connection allocates nothing (TestEventLoopAllocatesNothingPerRequest;
// BenchmarkEventLoopAllocs). A response is parsed by the reader the other
// client uses, from what has arrived; one not all there yet is parsed
// again from its first byte when more comes, which comes to the same
// outcome, as the parse is a function of the bytes. One longer than the
// 4 KiB buffer is read by the same reader running as a coroutine
// (iter.Pull) that reads the socket itself. A loop waits parked in Go's
// netpoller, its epoll descriptor being itself pollable, so that it
// shares the processors with the process's other goroutines (a built-in
// target's, the sampler's) as Go's scheduler has them; its times (the
// next send, a deadline) are a timerfd in its epoll set, whose expiry is
// in nanoseconds where the netpoller's sleep is in milliseconds. In open
// loop a loop makes the sends of the schedule that fall to its
// connections (send k goes to connection k mod Concurrency).
//
// The event loop is written on golang.org/x/sys/unix, not on gnet or nbio,
// which the design allowed: neither takes a socket dialled by its caller
// except as a net.Conn (gnet duplicates its descriptor; nbio's own dial
// sets no option before connect), so Go's dial, and its allocations, would
// stay; both allocate per connection (30 to 37 objects with gnet's Enroll,
// 14 to 21 with nbio's); and nbio closed about half the connections a
// resetting server reset as if the server had sent a FIN, which would
// make the close records wrong. Measured on the 2-core reference machine,
// HTTP/1.0 connections against nginx, 50 at a time, medians of three
// alternating rounds of 3 s (load average 0.9 rising to 2.8): prototypes
// that only wrote each request and counted its close took 108 µs of CPU a
// connection with gnet v2.9.7, 88 with nbio v1.6.8's DialAsync and 93 with
// its AddConn; twbench with the goroutine client 100, with the event loop
// 59, parsing each response and recording each close.
//
// The other client, and the only one elsewhere, runs a goroutine per
// connection through Go's net package (ClientGoroutine), its workers
// taking the pacer's sends from a channel. Select it to compare the two, or
// to work around a fault of the event loop.
package loadgen
