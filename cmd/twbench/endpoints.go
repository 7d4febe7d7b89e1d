package main

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/twbench/twbench/harness"
)

// maxWatched bounds --watch: each endpoint costs a walk of the kernel's
// socket table per sample.
const maxWatched = 16

// watchHelp is --watch's help, for run and watch.
const watchHelp = "also sample NAME=ADDR:PORT as a client end and a server end, such as a proxy's upstream " +
	"(upstream=127.0.0.1:8081; :PORT for the port on any address); repeatable, up to 16"

var endpointName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,31}$`)

// parseWatched reads the --watch values: NAME=ADDR:PORT, each name and
// address once.
func parseWatched(values []string) ([]harness.Endpoint, error) {
	if len(values) > maxWatched {
		return nil, usagef("--watch: %d endpoints; at most %d", len(values), maxWatched)
	}
	var eps []harness.Endpoint
	var errs []error
	for _, v := range values {
		name, addr, ok := strings.Cut(v, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--watch %q: want NAME=ADDR:PORT, such as upstream=127.0.0.1:8081", v))
			continue
		}
		if !endpointName.MatchString(name) {
			errs = append(errs, fmt.Errorf("--watch %q: the name %q: want letters, digits, '.', '_' or '-', at most 32", v, name))
			continue
		}
		ap, err := parseAddrPort(addr)
		if err != nil {
			errs = append(errs, fmt.Errorf("--watch %q: %w", v, err))
			continue
		}
		for _, e := range eps {
			switch {
			case e.Name == name:
				err = fmt.Errorf("--watch %q: the name %s is given twice", v, name)
			case e.Addr == ap:
				err = fmt.Errorf("--watch %q: %s is watched as %s already", v, ap, e.Name)
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		eps = append(eps, harness.Endpoint{Name: name, Addr: ap})
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return eps, nil
}

// parseAddrPort reads ADDR:PORT with an IP address or localhost; :PORT is
// the port on any address. The sampler matches sockets by address, so a
// host name, which may have several, is refused rather than resolved.
func parseAddrPort(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("want ADDR:PORT, such as 127.0.0.1:8080 or [::1]:8080")
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return netip.AddrPort{}, fmt.Errorf("port %q: want 1 to 65535", port)
	}
	addr, err := ipOf(host)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return netip.AddrPortFrom(addr, uint16(p)), nil
}

// ipOf reads an IP address, localhost (127.0.0.1), or "" (any address).
func ipOf(host string) (netip.Addr, error) {
	switch host {
	case "":
		return netip.IPv4Unspecified(), nil
	case "localhost":
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address: sockets are matched by address, so give the one the command connects to", host)
	}
	return a.Unmap(), nil
}

// parseTarget reads watch's --target: ADDR:PORT, or a URL whose host is
// an IP address (its port, or the scheme's: 80, 443).
func parseTarget(raw string) (netip.AddrPort, error) {
	if !strings.Contains(raw, "://") {
		return parseAddrPort(raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return netip.AddrPort{}, fmt.Errorf("want ADDR:PORT or a URL such as http://127.0.0.1:8080/")
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http", "ws":
			port = "80"
		case "https", "wss":
			port = "443"
		default:
			return netip.AddrPort{}, fmt.Errorf("the URL has no port, and %s has no usual one", u.Scheme)
		}
	}
	return parseAddrPort(net.JoinHostPort(u.Hostname(), port))
}

// targetInArgs returns the first argument of a command that is an http://
// or https:// URL: ab's, wrk's, hey's and oha's target.
func targetInArgs(args []string) (string, bool) {
	for _, a := range args {
		if strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://") {
			return a, true
		}
	}
	return "", false
}
