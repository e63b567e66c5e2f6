package kubeproxy

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLoadBalancerIngress(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lb := func(name string, age int, ips ...string) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.NewTime(t0.Add(time.Duration(age) * time.Minute))},
			Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		}
		for _, ip := range ips {
			s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
		}
		return s
	}
	node := func(ip string, ready bool) *corev1.Node {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return &corev1.Node{Status: corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: "h"}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}},
		}}
	}
	classed := lb("classed", 0)
	class := "example.com/other"
	classed.Spec.LoadBalancerClass = &class
	clusterIP := lb("plain", 0)
	clusterIP.Spec.Type = corev1.ServiceTypeClusterIP
	addrs := func(ss ...string) []netip.Addr {
		var out []netip.Addr
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
		return out
	}
	pool := []netip.Prefix{netip.MustParsePrefix("192.168.1.0/30"), netip.MustParsePrefix("10.0.0.7/32")}
	for _, tc := range []struct {
		name  string
		svcs  []*corev1.Service
		nodes []*corev1.Node
		pool  []netip.Prefix
		want  map[string][]netip.Addr
	}{
		{"no pool: ready nodes' InternalIPs, sorted",
			[]*corev1.Service{lb("a", 0), classed, clusterIP},
			[]*corev1.Node{node("192.168.234.12", true), node("192.168.234.10", true), node("192.168.234.11", false)}, nil,
			map[string][]netip.Addr{"ns/a": addrs("192.168.234.10", "192.168.234.12")}},
		{"pool: lowest free, oldest first, network and broadcast skipped",
			[]*corev1.Service{lb("new", 2), lb("old", 1), lb("newest", 3), lb("none-left", 4)}, nil, pool,
			map[string][]netip.Addr{"ns/old": addrs("192.168.1.1"), "ns/new": addrs("192.168.1.2"),
				"ns/newest": addrs("10.0.0.7"), "ns/none-left": nil}},
		{"pool: an address held is kept; a duplicate or foreign one is replaced",
			[]*corev1.Service{lb("holder", 5, "192.168.1.2"), lb("dup", 6, "192.168.1.2"), lb("foreign", 0, "1.2.3.4")}, nil, pool,
			map[string][]netip.Addr{"ns/holder": addrs("192.168.1.2"), "ns/foreign": addrs("192.168.1.1"), "ns/dup": addrs("10.0.0.7")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := loadBalancerIngress(tc.svcs, tc.nodes, tc.pool)
			if diff := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStaleUDP(t *testing.T) {
	ep := func(s string) Endpoint { return Endpoint{Addr: netip.MustParseAddrPort(s), Ready: true, Serving: true} }
	port := func(proto corev1.Protocol, eps ...Endpoint) *ServicePort {
		return &ServicePort{Name: "x", Protocol: proto, ClusterIP: netip.MustParseAddr("10.96.0.10"), Port: 53,
			NodePort: 30053, LoadBalancerIPs: []netip.Addr{netip.MustParseAddr("192.168.234.10")}, Endpoints: eps}
	}
	rs := func(p *ServicePort) *RuleSet {
		if p == nil {
			return &RuleSet{Ports: map[string]*ServicePort{}}
		}
		return &RuleSet{Ports: map[string]*ServicePort{p.Name: p}}
	}
	a, b := ep("10.42.0.2:53"), ep("10.42.0.3:53")
	for _, tc := range []struct {
		name       string
		prev, next *RuleSet
		want       [][]string
	}{
		{"first sync", nil, rs(port(corev1.ProtocolUDP, a)), nil},
		{"unchanged", rs(port(corev1.ProtocolUDP, a)), rs(port(corev1.ProtocolUDP, a)), nil},
		{"TCP is left alone", rs(port(corev1.ProtocolTCP, a, b)), rs(port(corev1.ProtocolTCP, b)), nil},
		{"removed endpoint", rs(port(corev1.ProtocolUDP, a, b)), rs(port(corev1.ProtocolUDP, b)), [][]string{
			{"-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.42.0.2"},
			{"-p", "udp", "--orig-dst", "192.168.234.10", "--dst-nat", "10.42.0.2"},
			{"-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.42.0.2"},
		}},
		{"removed Service", rs(port(corev1.ProtocolUDP, a)), rs(nil), [][]string{
			{"-p", "udp", "--orig-dst", "10.96.0.10", "--dst-nat", "10.42.0.2"},
			{"-p", "udp", "--orig-dst", "192.168.234.10", "--dst-nat", "10.42.0.2"},
			{"-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.42.0.2"},
		}},
		{"first endpoint", rs(port(corev1.ProtocolUDP)), rs(port(corev1.ProtocolUDP, a)), [][]string{
			{"-p", "udp", "--orig-dst", "10.96.0.10"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, staleUDP(tc.prev, tc.next)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
