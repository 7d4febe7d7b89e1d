package target

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// ProxyConfig is a reverse proxy's: what it does toward its clients, as
// a Server, and toward its upstream.
type ProxyConfig struct {
	// Policy and RequestsPerConn are its close policy toward its clients,
	// as a Server's.
	Policy          Policy
	RequestsPerConn int
	// Upstream is the server every request is forwarded to, host:port.
	Upstream string
	// UpstreamKeepAlive keeps upstream connections open and reuses them,
	// as nginx does with an upstream block's keepalive: no TIME_WAIT on
	// the upstream hop while the proxy runs. Without it each request gets
	// an upstream connection of its own, over HTTP/1.0 as nginx's
	// proxy_pass sends it by default, and the proxy reads the response
	// to the upstream's EOF before it closes: the upstream closes first
	// and holds the TIME_WAIT, one per request.
	UpstreamKeepAlive bool
	// Dial opens an upstream connection; nil is a net.Dialer's. A proxy
	// in another network namespace than its caller's dials from there
	// (netns.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// upstreamTimeout bounds an upstream exchange, from the dial to the
// upstream's close; upstreamMaxBody bounds its body.
const (
	upstreamTimeout = 10 * time.Second
	upstreamMaxBody = 1 << 20
)

// Proxy is a running reverse proxy: a Server whose responses are its
// upstream's. Its Accepted and Closes count its clients' connections;
// UpstreamErrors, the requests it answered 502 because the upstream
// failed.
type Proxy struct {
	*Server
	cfg      ProxyConfig
	pool     *fasthttp.HostClient // with UpstreamKeepAlive
	upErrors atomic.Int64
}

// StartProxy starts a reverse proxy listening on addr.
func StartProxy(addr string, cfg ProxyConfig) (*Proxy, error) {
	if cfg.Upstream == "" {
		return nil, errors.New("target: proxy: no upstream")
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	p := &Proxy{cfg: cfg}
	if cfg.UpstreamKeepAlive {
		p.pool = &fasthttp.HostClient{
			Addr: cfg.Upstream,
			Dial: func(addr string) (net.Conn, error) {
				ctx, cancel := context.WithTimeout(context.Background(), upstreamTimeout)
				defer cancel()
				return cfg.Dial(ctx, "tcp", addr)
			},
			MaxConns:                      MaxUpstreamConns,
			MaxIdleConnDuration:           time.Minute,
			MaxResponseBodySize:           upstreamMaxBody,
			NoDefaultUserAgentHeader:      true,
			DisableHeaderNamesNormalizing: true,
		}
	}
	srv, err := StartOn(addr, cfg.Policy, RequestsPerConn(cfg.RequestsPerConn), func(s *Server) { s.respond = p.forward })
	if err != nil {
		return nil, err
	}
	p.Server = srv
	return p, nil
}

// MaxUpstreamConns bounds a keep-alive proxy's upstream connections.
const MaxUpstreamConns = 4096

// Upstream returns the server the proxy forwards to.
func (p *Proxy) Upstream() string { return p.cfg.Upstream }

// UpstreamKeepAlive reports whether the proxy reuses upstream
// connections.
func (p *Proxy) UpstreamKeepAlive() bool { return p.cfg.UpstreamKeepAlive }

// UpstreamErrors counts the requests the proxy answered with 502.
func (p *Proxy) UpstreamErrors() int64 { return p.upErrors.Load() }

// Close stops the proxy, then closes its idle upstream connections.
func (p *Proxy) Close() error {
	err := p.Server.Close()
	if p.pool != nil {
		p.pool.CloseIdleConnections()
	}
	return err
}

// forward answers a request with the upstream's response to it.
func (p *Proxy) forward(ctx *fasthttp.RequestCtx) {
	var err error
	if p.pool != nil {
		err = p.forwardPooled(ctx)
	} else {
		err = p.forwardOnce(ctx)
	}
	if err != nil {
		p.upErrors.Add(1)
		ctx.Response.Reset()
		ctx.SetStatusCode(fasthttp.StatusBadGateway)
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("upstream: " + err.Error() + "\n")
	}
}

// forwardPooled sends the request over a kept upstream connection.
func (p *Proxy) forwardPooled(ctx *fasthttp.RequestCtx) error {
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	ctx.Request.CopyTo(req)
	// The client's connection header is the client's: the upstream
	// connection stays open whatever the client asked of its own.
	req.Header.Del("Connection")
	req.Header.Del(PolicyHeader)
	req.SetHost(p.cfg.Upstream)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	if err := p.pool.DoTimeout(req, resp, upstreamTimeout); err != nil {
		return err
	}
	ctx.SetStatusCode(resp.StatusCode())
	ctx.Response.Header.SetContentTypeBytes(resp.Header.ContentType())
	ctx.SetBody(resp.Body())
	return nil
}

// forwardOnce sends the request over an upstream connection of its own,
// as HTTP/1.0, and reads the response to the upstream's EOF, so that the
// upstream's FIN comes first, before closing it.
func (p *Proxy) forwardOnce(ctx *fasthttp.RequestCtx) error {
	dctx, cancel := context.WithTimeout(context.Background(), upstreamTimeout)
	defer cancel()
	c, err := p.cfg.Dial(dctx, "tcp", p.cfg.Upstream)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(upstreamTimeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c, "%s %s HTTP/1.0\r\nHost: %s\r\n\r\n", ctx.Method(), ctx.RequestURI(), p.cfg.Upstream); err != nil {
		return err
	}
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	br := bufio.NewReader(c)
	if err := resp.ReadLimitBody(br, upstreamMaxBody); err != nil {
		return err
	}
	// The upstream closes an HTTP/1.0 connection after its response;
	// its EOF is what lets the proxy close second.
	if n, err := io.Copy(io.Discard, io.LimitReader(br, upstreamMaxBody)); err != nil || n > 0 {
		if err == nil {
			err = fmt.Errorf("%d bytes after the response", n)
		}
		return fmt.Errorf("waiting for the upstream's close: %w", err)
	}
	ctx.SetStatusCode(resp.StatusCode())
	ctx.Response.Header.SetContentTypeBytes(resp.Header.ContentType())
	ctx.SetBody(resp.Body())
	return nil
}
