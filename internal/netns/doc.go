// Package netns gives benchmarks and tests a network namespace of their
// own, and fills it with TIME_WAIT sockets, so that sampling a crowded
// socket table can be measured without adding a socket to the host's.
//
// The namespace has no name in /run/netns: it lives while the Namespace
// holds it, and goes with the process however the process ends, so there
// is nothing to delete after a crash or a Ctrl-C. It needs root
// (CAP_SYS_ADMIN) and Linux; elsewhere New returns an error wrapping
// errors.ErrUnsupported.
//
// TCP's established hash table is the host's, shared by every namespace
// (unless net.ipv4.tcp_child_ehash_entries says otherwise), so a dump of
// the namespace's sockets walks the host's sockets too, as a sampler on the
// host would walk the namespace's.
package netns
