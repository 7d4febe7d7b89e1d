// Package netns makes private network namespaces: for twbench's topologies
// (a run's client and server in namespaces of their own, joined by a veth
// pair) and for benchmarks and tests that must not add a socket to the
// host's.
//
// A Namespace is made on a thread of this process (Create) and entered
// for a function (Do); sockets made inside stay the namespace's whichever
// goroutine uses them later, and a Dialer dials from inside. Veth joins
// two namespaces, each end made in its own namespace, never in the
// host's. That takes CAP_SYS_ADMIN: a process that lacks it (any user but
// root) runs as a Child instead, started in a user namespace of its own
// where it is root over the namespaces it makes. A Go process cannot enter
// a user namespace itself, having more than one thread, so the Child is a
// new process: twbench itself, started again. The kernel refuses user
// namespaces on some hosts; Explain says which setting or privilege would
// allow them.
//
// Nothing is left behind, however the process ends. No namespace has a
// name in /run/netns: one lives while a thread or a descriptor of the
// process holds it, and a veth pair goes with its namespaces. A Child dies
// with the thread that started it (PR_SET_PDEATHSIG, even when that
// process is killed with SIGKILL), and as the first process of a PID
// namespace of its own it takes everything it started with it.
//
// TCP's established hash table is the host's, shared by every namespace
// (unless net.ipv4.tcp_child_ehash_entries says otherwise), so a dump of
// the namespace's sockets walks the host's sockets too, as a sampler on the
// host would walk the namespace's.
//
// Elsewhere than Linux every function returns an error wrapping
// errors.ErrUnsupported.
package netns
