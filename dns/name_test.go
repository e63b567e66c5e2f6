package dns

import (
	"net/netip"
	"testing"
)

func TestParseName(t *testing.T) {
	const zone = "cluster.local."
	pod := netip.MustParseAddr("10.42.0.5")
	pod6 := netip.MustParseAddr("fd00::5")
	for _, tc := range []struct {
		qname string
		want  name
	}{
		{"example.com.", name{kind: kindOutside}},
		{"cluster.local.example.com.", name{kind: kindOutside}},
		{"notcluster.local.", name{kind: kindOutside}},
		{"cluster.local.", name{kind: kindApex}},
		{"Cluster.Local", name{kind: kindApex}},
		{"dns-version.cluster.local.", name{kind: kindVersion}},
		{"svc.cluster.local.", name{kind: kindBranch}},
		{"pod.cluster.local.", name{kind: kindBranch}},
		{"demo.pod.cluster.local.", name{kind: kindBranch}},
		{"demo.svc.cluster.local.", name{kind: kindNamespace, namespace: "demo"}},
		{"hello.demo.svc.cluster.local.", name{kind: kindService, namespace: "demo", service: "hello"}},
		{"HELLO.Demo.SVC.cluster.local.", name{kind: kindService, namespace: "demo", service: "hello"}},
		{"db-0.db.demo.svc.cluster.local.", name{kind: kindEndpoint, namespace: "demo", service: "db", endpoint: "db-0"}},
		{"example.com.demo.svc.cluster.local.", name{kind: kindEndpoint, namespace: "demo", service: "com", endpoint: "example"}},
		{"_tcp.hello.demo.svc.cluster.local.", name{kind: kindProto, namespace: "demo", service: "hello", proto: "tcp"}},
		{"_http._tcp.hello.demo.svc.cluster.local.", name{kind: kindPort, namespace: "demo", service: "hello", port: "http", proto: "tcp"}},
		{"_HTTP._TCP.hello.demo.svc.cluster.local.", name{kind: kindPort, namespace: "demo", service: "hello", port: "http", proto: "tcp"}},
		{"http._tcp.hello.demo.svc.cluster.local.", name{kind: kindNone}},
		{"_._tcp.hello.demo.svc.cluster.local.", name{kind: kindNone}},
		{"a.b.c.d.e.svc.cluster.local.", name{kind: kindNone}},
		{"10-42-0-5.demo.pod.cluster.local.", name{kind: kindPod, namespace: "demo", podIP: pod}},
		{"fd00--5.demo.pod.cluster.local.", name{kind: kindPod, namespace: "demo", podIP: pod6}},
		{"10-42-0.demo.pod.cluster.local.", name{kind: kindNone}},
		{"10-42-0-300.demo.pod.cluster.local.", name{kind: kindNone}},
		{"x.10-42-0-5.demo.pod.cluster.local.", name{kind: kindNone}},
		{"foo.cluster.local.", name{kind: kindNone}},
		{"x.dns-version.cluster.local.", name{kind: kindNone}},
		{"hello.demo.svc.cluster.local", name{kind: kindService, namespace: "demo", service: "hello"}},
	} {
		if got := parseName(tc.qname, zone); got != tc.want {
			t.Errorf("parseName(%q) = %+v, want %+v", tc.qname, got, tc.want)
		}
	}
}

func TestReverseAddr(t *testing.T) {
	for _, tc := range []struct {
		qname string
		want  string // "" for no address
	}{
		{"10.0.96.10.in-addr.arpa.", "10.96.0.10"},
		{"10.0.96.10.IN-ADDR.ARPA", "10.96.0.10"},
		{"0.96.10.in-addr.arpa.", ""},
		{"1.10.0.96.10.in-addr.arpa.", ""},
		{"x.0.96.10.in-addr.arpa.", ""},
		{"300.0.96.10.in-addr.arpa.", ""},
		{"5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "fd00::5"},
		{"b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.", "4321:0:1:2:3:4:567:89ab"},
		{"5.0.ip6.arpa.", ""},
		{"example.com.", ""},
	} {
		got, ok := reverseAddr(tc.qname)
		switch {
		case tc.want == "" && ok:
			t.Errorf("reverseAddr(%q) = %s, want none", tc.qname, got)
		case tc.want != "" && (!ok || got != netip.MustParseAddr(tc.want)):
			t.Errorf("reverseAddr(%q) = %s, %v, want %s", tc.qname, got, ok, tc.want)
		}
	}
}

func TestDashed(t *testing.T) {
	for _, s := range []string{"10.42.0.5", "fd00::5", "2001:db8::1:2"} {
		ip := netip.MustParseAddr(s)
		back, ok := dashedAddr(dashed(ip))
		if !ok || back != ip {
			t.Errorf("dashedAddr(dashed(%s) = %q) = %s, %v", ip, dashed(ip), back, ok)
		}
	}
}
