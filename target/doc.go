// Package target is twbench's built-in server: an HTTP/1.0 and HTTP/1.1
// server (fasthttp) on 127.0.0.1 whose close policy is set per server, or
// per connection by a request's X-Twbench-Close header, so a scenario can
// choose which end of each connection closes first; a raw TCP server with
// the same policies; and a reverse proxy (StartProxy) that answers with
// its upstream's responses, with upstream keep-alive or a connection per
// request, so that the TIME_WAIT of the hop a load tool never sees can be
// measured.
//
// Start, Addr, URL and Close follow net/http/httptest: the server listens on
// port 0, and Close waits for its connections.
package target
