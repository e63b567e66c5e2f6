package auth

import (
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strings"
)

// defaultHosts are in every serving certificate, so that the server is always reachable
// from the machine it runs on.
var defaultHosts = []string{"127.0.0.1", "::1", "localhost"}

// hostSet is the subject alternative names a serving certificate must carry.
type hostSet struct {
	ips   []net.IP
	names []string // lower case, no trailing dot
}

// newHostSet sorts hosts, plus defaultHosts, into IP and DNS names. Empty entries and
// duplicates are dropped; IPv6 addresses may be written in brackets.
func newHostSet(hosts []string) (hostSet, error) {
	var s hostSet
	for _, h := range slices.Concat(defaultHosts, hosts) {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); ip != nil {
			if !slices.ContainsFunc(s.ips, ip.Equal) {
				s.ips = append(s.ips, ip)
			}
			continue
		}
		name := strings.ToLower(strings.TrimSuffix(h, "."))
		if !isDNSName(name) {
			return hostSet{}, fmt.Errorf("host %q is neither an IP address nor a DNS name", h)
		}
		if !slices.Contains(s.names, name) {
			s.names = append(s.names, name)
		}
	}
	return s, nil
}

// coveredBy reports whether cert names every host in s.
func (s hostSet) coveredBy(cert *x509.Certificate) bool {
	for _, ip := range s.ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	for _, name := range s.names {
		if !slices.ContainsFunc(cert.DNSNames, func(n string) bool { return strings.EqualFold(n, name) }) {
			return false
		}
	}
	return true
}

// isDNSName reports whether name (lower case) is usable as a DNS SAN: dot-separated
// labels of letters, digits, '-' and '_', the first of which may be the wildcard "*".
func isDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for i, label := range strings.Split(name, ".") {
		if label == "*" && i == 0 && name != "*" {
			continue
		}
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
