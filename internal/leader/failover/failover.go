// Package failover gives a client-go config several API servers of one
// HA control plane, so that a client (an agent, the CLI) keeps working
// when the server it talks to goes away.
//
// Requests go to the server that last answered; when it refuses the
// connection or does not answer in time, the request is sent to the next
// one, and that one is used from then on. Watches that break with their
// server are re-established by client-go's reflectors, and land on the next
// server in the same way. All servers must present certificates from one CA
// and accept the same tokens, as berth servers on one etcd do.
//
//	cfg, err := failover.Config(&rest.Config{BearerToken: token, TLSClientConfig: tls},
//		[]string{"https://10.0.0.1:6443", "https://10.0.0.2:6443"})
//	client, err := kubernetes.NewForConfig(cfg)
package failover

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// dialTimeout bounds each connection attempt to one server, so that
// a server that is down without refusing (a dead host) costs this long
// before the next is tried, rather than client-go's 30 seconds.
const dialTimeout = 5 * time.Second

// Config returns a copy of cfg that reaches whichever of servers answers,
// as the package comment describes, with cfg.Host set to the first of them.
// With one server or none, cfg is returned as it is. Every server must
// present a certificate from the CA in cfg and accept its token.
func Config(cfg *rest.Config, servers []string) (*rest.Config, error) {
	if len(servers) <= 1 {
		return cfg, nil
	}
	hosts := make([]string, len(servers))
	for i, s := range servers {
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("server %q: want https://HOST:PORT", s)
		}
		hosts[i] = u.Host
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Host = servers[0]
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	}
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		rt = &transport{hosts: hosts, next: rt}
		if prev != nil {
			rt = prev(rt)
		}
		return rt
	}
	return cfg, nil
}

// transport sends each request to the server that last answered,
// trying the others in order when it cannot be reached.
type transport struct {
	hosts []string // host:port of each server
	next  http.RoundTripper

	mu      sync.Mutex // guards current
	current int        // index in hosts of the server that last answered
}

// RoundTrip implements http.RoundTripper.
func (f *transport) RoundTrip(req *http.Request) (*http.Response, error) {
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
