package dns

import (
	"net/netip"
	"strings"
)

// kind is what a query name inside the cluster domain refers to.
type kind int

const (
	// kindOutside is a name outside the cluster domain: it is forwarded.
	kindOutside kind = iota
	// kindApex is the cluster domain itself, <zone>.
	kindApex
	// kindVersion is dns-version.<zone>, the schema version's TXT record.
	kindVersion
	// kindBranch is svc.<zone>, pod.<zone> or <ns>.pod.<zone>: names that
	// exist (something lies below them) but hold no records.
	kindBranch
	// kindNamespace is <ns>.svc.<zone>.
	kindNamespace
	// kindService is <svc>.<ns>.svc.<zone>.
	kindService
	// kindEndpoint is <endpoint>.<svc>.<ns>.svc.<zone>.
	kindEndpoint
	// kindProto is _<proto>.<svc>.<ns>.svc.<zone>, the empty non-terminal
	// above a port's SRV name.
	kindProto
	// kindPort is _<port>._<proto>.<svc>.<ns>.svc.<zone>, a port's SRV name.
	kindPort
	// kindPod is <dashed-ip>.<ns>.pod.<zone>.
	kindPod
	// kindNone is a name in the domain that can refer to nothing: NXDOMAIN.
	kindNone
)

// name is a query name parsed against the cluster domain. All its strings
// are lower case.
type name struct {
	kind      kind
	namespace string
	service   string
	endpoint  string     // kindEndpoint: a hostname or a dashed address
	port      string     // kindPort: the port's name, without its underscore
	proto     string     // kindPort, kindProto: tcp, udp or sctp, without its underscore
	podIP     netip.Addr // kindPod
}

// parseName parses qname (a fully qualified name, any case) against zone (a
// fully qualified, lower-case domain such as "cluster.local.").
func parseName(qname, zone string) name {
	q := strings.ToLower(qname)
	if !strings.HasSuffix(q, ".") {
		q += "."
	}
	var rest string
	switch {
	case q == zone:
		return name{kind: kindApex}
	case strings.HasSuffix(q, "."+zone):
		rest = strings.TrimSuffix(q, "."+zone)
	default:
		return name{kind: kindOutside}
	}
	labels := strings.Split(rest, ".")
	// Read from the zone down: labels[n-1] is the one below the zone.
	n := len(labels)
	at := func(i int) string { return labels[n-1-i] } // i-th label below the zone
	for _, l := range labels {
		if l == "" {
			return name{kind: kindNone}
		}
	}
	switch at(0) {
	case "dns-version":
		if n == 1 {
			return name{kind: kindVersion}
		}
	case "svc":
		return parseServiceName(n, at)
	case "pod":
		return parsePodName(n, at)
	}
	return name{kind: kindNone}
}

// parseServiceName parses the labels below svc.<zone>.
func parseServiceName(n int, at func(int) string) name {
	switch n {
	case 1:
		return name{kind: kindBranch}
	case 2:
		return name{kind: kindNamespace, namespace: at(1)}
	case 3:
		return name{kind: kindService, namespace: at(1), service: at(2)}
	case 4:
		l := at(3)
		if proto, ok := strings.CutPrefix(l, "_"); ok {
			return name{kind: kindProto, namespace: at(1), service: at(2), proto: proto}
		}
		return name{kind: kindEndpoint, namespace: at(1), service: at(2), endpoint: l}
	case 5:
		proto, okProto := strings.CutPrefix(at(3), "_")
		port, okPort := strings.CutPrefix(at(4), "_")
		if okProto && okPort && proto != "" && port != "" {
			return name{kind: kindPort, namespace: at(1), service: at(2), proto: proto, port: port}
		}
	}
	return name{kind: kindNone}
}

// parsePodName parses the labels below pod.<zone>.
func parsePodName(n int, at func(int) string) name {
	switch n {
	case 1, 2:
		return name{kind: kindBranch}
	case 3:
		if ip, ok := dashedAddr(at(2)); ok {
			return name{kind: kindPod, namespace: at(1), podIP: ip}
		}
	}
	return name{kind: kindNone}
}

// dashedAddr parses an address written with dashes for its dots (IPv4,
// 10-42-0-5) or for its colons (IPv6, fd00--5).
func dashedAddr(label string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ".")); err == nil && ip.Is4() {
		return ip, true
	}
	if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":")); err == nil && ip.Is6() && !ip.Is4In6() && ip.Zone() == "" {
		return ip, true
	}
	return netip.Addr{}, false
}

// dashed writes an address the way dashedAddr reads it: the name of an
// endpoint that has no hostname.
func dashed(ip netip.Addr) string {
	if ip.Is4() {
		return strings.ReplaceAll(ip.String(), ".", "-")
	}
	return strings.ReplaceAll(ip.String(), ":", "-")
}

// reverseAddr parses a reverse-lookup name (d.c.b.a.in-addr.arpa. or the
// 32 nibbles of an ip6.arpa. name) into its address.
func reverseAddr(qname string) (netip.Addr, bool) {
	q := strings.TrimSuffix(strings.ToLower(qname), ".")
	if rest, ok := strings.CutSuffix(q, ".in-addr.arpa"); ok {
		labels := strings.Split(rest, ".")
		if len(labels) != 4 {
			return netip.Addr{}, false
		}
		for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
			labels[i], labels[j] = labels[j], labels[i]
		}
		ip, err := netip.ParseAddr(strings.Join(labels, "."))
		if err != nil || !ip.Is4() {
			return netip.Addr{}, false
		}
		return ip, true
	}
	if rest, ok := strings.CutSuffix(q, ".ip6.arpa"); ok {
		nibbles := strings.Split(rest, ".")
		if len(nibbles) != 32 {
			return netip.Addr{}, false
		}
		var b [16]byte
		for i, nib := range nibbles {
			if len(nib) != 1 {
				return netip.Addr{}, false
			}
			v := strings.IndexByte("0123456789abcdef", nib[0])
			if v < 0 {
				return netip.Addr{}, false
			}
			pos := 31 - i // nibbles come least significant first
			if pos%2 == 0 {
				b[pos/2] |= byte(v) << 4
			} else {
				b[pos/2] |= byte(v)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}
