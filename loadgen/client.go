package loadgen

import "fmt"

// Client is the machinery that drives a workload's connections. Both
// clients keep every close-behaviour guarantee; they differ in cost.
type Client string

const (
	// ClientDefault is the event loop where there is one (Linux), and
	// goroutines elsewhere.
	ClientDefault Client = ""
	// ClientEventLoop drives non-blocking sockets, made and connected
	// with raw system calls, from one epoll loop per core, as wrk does.
	// Linux only.
	ClientEventLoop Client = "eventloop"
	// ClientGoroutine drives each connection from a goroutine of its own,
	// through Go's net package: portable, and the fallback if the event
	// loop misbehaves.
	ClientGoroutine Client = "goroutine"
)

// FieldClient names Config.Client in problems. It is not a scenario key:
// the client is chosen per run (twbench run --client), not per workload.
const FieldClient = "client"

// Clients lists the clients this system has.
func Clients() []Client {
	if haveEventLoop {
		return []Client{ClientEventLoop, ClientGoroutine}
	}
	return []Client{ClientGoroutine}
}

// Resolve returns the client that drives a run: c, or for the default
// the event loop where there is one.
func (c Client) Resolve() Client {
	if c == ClientDefault {
		if haveEventLoop {
			return ClientEventLoop
		}
		return ClientGoroutine
	}
	return c
}

// ParseClient parses a client's name; "" is the default.
func ParseClient(name string) (Client, error) {
	c := Client(name)
	switch c {
	case ClientDefault, ClientGoroutine:
		return c, nil
	case ClientEventLoop:
		if !haveEventLoop {
			return c, fmt.Errorf("%s: the event-loop client is Linux's (epoll); use %s", name, ClientGoroutine)
		}
		return c, nil
	}
	return c, fmt.Errorf("%q: want %s or %s", name, ClientEventLoop, ClientGoroutine)
}

// clientProblems adds a problem with the client, if it has one.
func (c Config) clientProblems(p *problems) {
	if _, err := ParseClient(string(c.Client)); err != nil {
		*p = append(*p, FieldError{FieldClient, err})
	}
}

func (c Client) String() string {
	if c == ClientDefault {
		return fmt.Sprintf("default (%s)", string(c.Resolve()))
	}
	return string(c)
}
