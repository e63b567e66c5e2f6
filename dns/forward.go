package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"
)

// dialFunc opens a connection to an upstream, network "udp" or "tcp".
type dialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// forwarder sends the questions the server does not own to the upstream
// resolvers, in order, until one answers.
type forwarder struct {
	upstreams []string
	timeout   time.Duration // for one exchange with one upstream
	dial      dialFunc
	metrics   *metrics
}

// errNoUpstreams is returned when there is nowhere to forward to.
var errNoUpstreams = errors.New("no upstream resolvers")

// forward sends req to the upstreams, over TCP when tcp is set, else over
// UDP and again over TCP when the UDP answer is truncated. It returns the
// first answer (whatever its rcode), its Id set to req's.
func (f *forwarder) forward(ctx context.Context, req *dns.Msg, tcp bool) (*dns.Msg, error) {
	if len(f.upstreams) == 0 {
		return nil, errNoUpstreams
	}
	var errs []error
	for _, up := range f.upstreams {
		start := time.Now()
		resp, err := f.exchange(ctx, req, up, tcp)
		f.metrics.observeForward(time.Since(start), err)
		if err == nil {
			resp.Id = req.Id
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("upstream %s: %w", up, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// exchange asks one upstream.
func (f *forwarder) exchange(ctx context.Context, req *dns.Msg, upstream string, tcp bool) (*dns.Msg, error) {
	if tcp {
		return f.exchangeOver(ctx, req, upstream, "tcp")
	}
	resp, err := f.exchangeOver(ctx, req, upstream, "udp")
	if err == nil && resp.Truncated {
		return f.exchangeOver(ctx, req, upstream, "tcp")
	}
	return resp, err
}

// exchangeOver asks one upstream over one transport, on a connection of its
// own, with a fresh message Id.
func (f *forwarder) exchangeOver(ctx context.Context, req *dns.Msg, upstream, network string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	conn, err := f.dial(ctx, network, upstream)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", network, err)
	}
	defer conn.Close()
	m := req.Copy()
	m.Id = dns.Id()
	c := &dns.Client{Net: network, Timeout: f.timeout, UDPSize: dns.MaxMsgSize}
	resp, _, err := c.ExchangeWithConnContext(ctx, m, &dns.Conn{Conn: conn})
	if err != nil {
		return nil, fmt.Errorf("exchange over %s: %w", network, err)
	}
	return resp, nil
}
