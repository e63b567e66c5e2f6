package dns

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/miekg/dns"
)

// resolvConfUpstreams returns the nameservers of a resolv.conf file as
// host:port addresses, leaving out those in skip (the server's own
// addresses, which would loop).
func resolvConfUpstreams(path string, skip []netip.Addr) ([]string, error) {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("read nameservers from %s: %w", path, err)
	}
	port := cfg.Port
	if port == "" {
		port = "53"
	}
	var ups []string
	for _, s := range cfg.Servers {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		if containsAddr(skip, ip.Unmap()) {
			continue
		}
		ups = append(ups, net.JoinHostPort(ip.String(), port))
	}
	return ups, nil
}

// containsAddr reports whether addrs holds ip.
func containsAddr(addrs []netip.Addr, ip netip.Addr) bool {
	for _, a := range addrs {
		if a == ip {
			return true
		}
	}
	return false
}

// normalizeUpstream checks an upstream, an IP address with or without a
// port, and adds port 53 when it has none. Host names are refused: they
// would need a resolver to reach the resolver.
func normalizeUpstream(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 {
		return ap.String(), nil
	}
	if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
		return netip.AddrPortFrom(ip, 53).String(), nil
	}
	return "", fmt.Errorf("upstream %q: want an IP address, with or without a port", s)
}
