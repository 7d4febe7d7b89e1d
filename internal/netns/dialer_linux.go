package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Dialer dials from inside a namespace. Go makes a connection's socket on
// the thread that dials, and a socket is in the namespace of the thread
// that made it, so each dial runs on one of a few threads kept inside the
// namespace for the Dialer's life; the connection it returns may then be
// used from any goroutine.
type Dialer struct {
	dialer net.Dialer
	reqs   chan dialReq
	done   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

type dialReq struct {
	ctx           context.Context
	network, addr string
	res           chan dialRes
}

type dialRes struct {
	conn net.Conn
	err  error
}

// ErrDialerClosed is a dial on a closed Dialer.
var ErrDialerClosed = errors.New("netns: dialer is closed")

// Dialer returns a Dialer that dials as d does from threads inside the
// namespace: threads dials at once at most (a dial holds its thread
// until the handshake is done).
func (n *Namespace) Dialer(d net.Dialer, threads int) (*Dialer, error) {
	if n.fd < 0 {
		return nil, errors.New("netns: namespace is closed")
	}
	dl := &Dialer{dialer: d, reqs: make(chan dialReq), done: make(chan struct{})}
	entered := make(chan error, threads)
	for range max(threads, 1) {
		dl.wg.Go(func() {
			// Never unlocked: the thread ends with the goroutine.
			runtime.LockOSThread()
			if err := unix.Setns(n.fd, unix.CLONE_NEWNET); err != nil {
				entered <- fmt.Errorf("netns: enter namespace: %w", err)
				return
			}
			entered <- nil
			dl.serve()
		})
	}
	var errs []error
	for range max(threads, 1) {
		errs = append(errs, <-entered)
	}
	if err := errors.Join(errs...); err != nil {
		dl.Close()
		return nil, err
	}
	return dl, nil
}

func (dl *Dialer) serve() {
	for {
		select {
		case <-dl.done:
			return
		case r := <-dl.reqs:
			c, err := dl.dialer.DialContext(r.ctx, r.network, r.addr)
			r.res <- dialRes{c, err}
		}
	}
}

// DialContext connects to addr from inside the namespace.
func (dl *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	r := dialReq{ctx: ctx, network: network, addr: addr, res: make(chan dialRes, 1)}
	select {
	case dl.reqs <- r:
	case <-dl.done:
		return nil, ErrDialerClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := <-r.res
	return res.conn, res.err
}

// Close stops the Dialer's threads once their dials are done.
func (dl *Dialer) Close() error {
	dl.once.Do(func() { close(dl.done) })
	dl.wg.Wait()
	return nil
}
