package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// failoverDialTimeout bounds each connection attempt to one server, so that
// a server that is down without refusing (a dead host) costs this long
// before the next is tried, rather than client-go's 30 seconds.
const failoverDialTimeout = 5 * time.Second

// splitServers splits a comma-separated --server value, dropping blanks.
func splitServers(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// withFailover makes cfg reach the first of servers that answers: requests
// go to the server that last worked, and one that refuses connections or
// does not answer in time hands the request to the next. Watches that end
// with their server are started again by client-go's reflectors, and so
// land on the next server too. With one server or none, cfg is returned as
// it is. Every server must present a certificate from the CA in cfg and
// accept its token: servers on one etcd share both (see
// apiserver.ShareCredentials).
func withFailover(cfg *rest.Config, servers []string) (*rest.Config, error) {
	if len(servers) <= 1 {
		return cfg, nil
	}
	hosts := make([]string, len(servers))
	for i, s := range servers {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("--server %q: want https://HOST:PORT", s)
		}
		hosts[i] = u.Host
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Host = servers[0]
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: failoverDialTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		rt = &failoverTransport{hosts: hosts, next: rt}
		if prev != nil {
			rt = prev(rt)
		}
		return rt
	}
	return cfg, nil
}

// failoverTransport sends each request to the server that last answered,
// trying the others in order when it cannot be reached.
type failoverTransport struct {
	hosts []string // host:port of each server
	next  http.RoundTripper

	mu      sync.Mutex // guards current
	current int        // index in hosts of the server that last answered
}

// RoundTrip implements http.RoundTripper.
func (f *failoverTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	start := f.current
	f.mu.Unlock()
	var lastErr error
	for i := range f.hosts {
		idx := (start + i) % len(f.hosts)
		r := req.Clone(req.Context())
		r.URL.Host, r.Host = f.hosts[idx], ""
		if i > 0 && req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, lastErr // the body is gone with the first attempt
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, lastErr
			}
			r.Body = body
		}
		resp, err := f.next.RoundTrip(r)
		if err == nil {
			f.mu.Lock()
			f.current = idx
			f.mu.Unlock()
			return resp, nil
		}
		if req.Context().Err() != nil || !unreachable(err, req.Method) {
			return nil, err
		}
		lastErr = err
	}
	return nil, lastErr
}

// unreachable reports whether err says that the server could not be
// reached, so that the request may go to another: the connection was
// refused or timed out, or (for requests that change nothing) it broke
// before an answer came.
func unreachable(err error, method string) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
	}
	return false
}
