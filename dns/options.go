package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"
)

// Defaults of [Options].
const (
	// DefaultDomain is the cluster domain.
	DefaultDomain = "cluster.local"
	// DefaultListen is where the server listens: the node-local address
	// NodeLocal DNSCache uses, port 53.
	DefaultListen = "169.254.20.10:53"
	// DefaultResolvConf is where the upstreams come from when none are given.
	DefaultResolvConf = "/etc/resolv.conf"
	// DefaultForwardTimeout bounds one exchange with one upstream.
	DefaultForwardTimeout = 2 * time.Second
)

// Options configure a [Server].
type Options struct {
	// Client reads Services and EndpointSlices (list and watch, all
	// namespaces). Required.
	Client kubernetes.Interface
	// Domain is the cluster domain; DefaultDomain when empty.
	Domain string
	// Listen are the addresses (IP:port) to serve on, each over UDP and TCP;
	// [DefaultListen] when empty. Port 0 picks a free port (the same one for
	// UDP and TCP), which [Server.Addrs] reports.
	Listen []string
	// NetNS is the path of the network namespace to listen in and to
	// forward from (the node's, e.g. /run/netns/NAME); empty means the
	// process's own.
	NetNS string
	// Upstreams are the resolvers (IP or IP:port, port 53 by default) that
	// names outside the cluster domain are forwarded to, tried in order.
	// When empty, the nameservers of ResolvConf, less the server's own
	// addresses, read once by New. Upstreams are dialled from NetNS: a
	// loopback resolver of the machine's (systemd-resolved's 127.0.0.53) is
	// out of reach from a node namespace of its own.
	Upstreams []string
	// ResolvConf is the file read for upstreams when Upstreams is empty;
	// [DefaultResolvConf] when empty.
	ResolvConf string
	// ForwardTimeout bounds one exchange with one upstream;
	// [DefaultForwardTimeout] when zero. A query that no upstream answers
	// gets SERVFAIL after len(Upstreams) timeouts at most.
	ForwardTimeout time.Duration
	// Logger receives the server's logs; discarded when nil.
	Logger *slog.Logger
	// Registry, when set, gets the server's metrics: berth_dns_queries_total
	// (by type and rcode) and berth_dns_forward_duration_seconds.
	Registry prometheus.Registerer
}

// withDefaults validates o and fills in its defaults.
func (o Options) withDefaults() (Options, []netip.AddrPort, error) {
	if o.Client == nil {
		return o, nil, errors.New("dns options: Client is required")
	}
	if o.Domain == "" {
		o.Domain = DefaultDomain
	}
	o.Domain = strings.ToLower(strings.Trim(o.Domain, "."))
	if _, ok := dns.IsDomainName(o.Domain); !ok || o.Domain == "" {
		return o, nil, fmt.Errorf("dns options: domain %q is not a domain name", o.Domain)
	}
	if len(o.Listen) == 0 {
		o.Listen = []string{DefaultListen}
	}
	listen := make([]netip.AddrPort, 0, len(o.Listen))
	for _, l := range o.Listen {
		ap, err := netip.ParseAddrPort(l)
		if err != nil {
			return o, nil, fmt.Errorf("dns options: listen address %q: want IP:port: %w", l, err)
		}
		listen = append(listen, ap)
	}
	if o.ResolvConf == "" {
		o.ResolvConf = DefaultResolvConf
	}
	if o.ForwardTimeout <= 0 {
		o.ForwardTimeout = DefaultForwardTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Upstreams) == 0 {
		skip := make([]netip.Addr, 0, len(listen))
		for _, ap := range listen {
			skip = append(skip, ap.Addr().Unmap())
		}
		ups, err := resolvConfUpstreams(o.ResolvConf, skip)
		if err != nil {
			return o, nil, fmt.Errorf("dns options: %w", err)
		}
		o.Upstreams = ups
	} else {
		ups := make([]string, 0, len(o.Upstreams))
		for _, u := range o.Upstreams {
			n, err := normalizeUpstream(u)
			if err != nil {
				return o, nil, fmt.Errorf("dns options: %w", err)
			}
			ups = append(ups, n)
		}
		o.Upstreams = ups
	}
	return o, listen, nil
}
