package routes

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// node is a Node with pod CIDRs and addresses ("InternalIP=..." or
// "ExternalIP=...").
func node(name string, cidrs []string, addrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(cidrs) > 0 {
		n.Spec.PodCIDR = cidrs[0]
		n.Spec.PodCIDRs = cidrs
	}
	for _, a := range addrs {
		typ, ip := corev1.NodeInternalIP, a
		if t, rest, ok := cut(a); ok {
			typ, ip = corev1.NodeAddressType(t), rest
		}
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: typ, Address: ip})
	}
	return n
}

// cut splits "Type=addr".
func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func routes(s ...string) []Route {
	var out []Route
	for i := 0; i+1 < len(s); i += 2 {
		out = append(out, Route{Dst: netip.MustParsePrefix(s[i]), Gateway: netip.MustParseAddr(s[i+1])})
	}
	return out
}

func TestDesired(t *testing.T) {
	deleted := node("gone", []string{"10.42.9.0/24"}, "192.168.1.19")
	deleted.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	legacy := node("legacy", nil, "192.168.1.15")
	legacy.Spec.PodCIDR = "10.42.5.0/24"
	for _, tc := range []struct {
		name  string
		nodes []*corev1.Node
		want  []Route
	}{
		{"alone", []*corev1.Node{node("a", []string{"10.42.0.0/24"}, "192.168.1.10")}, nil},
		{"three nodes", []*corev1.Node{
			node("c", []string{"10.42.2.0/24"}, "192.168.1.12"),
			node("a", []string{"10.42.0.0/24"}, "192.168.1.10"),
			node("b", []string{"10.42.1.0/24"}, "Hostname=b", "ExternalIP=203.0.113.1", "192.168.1.11", "192.168.1.99"),
		}, routes("10.42.1.0/24", "192.168.1.11", "10.42.2.0/24", "192.168.1.12")},
		{"no CIDR, no address, bad values", []*corev1.Node{
			node("a", []string{"10.42.0.0/24"}, "192.168.1.10"),
			node("b", nil, "192.168.1.11"),
			node("c", []string{"10.42.2.0/24"}, "ExternalIP=203.0.113.1"),
			node("d", []string{"nonsense"}, "192.168.1.13"),
			node("e", []string{"10.42.4.0/24"}, "not-an-ip", "0.0.0.0", "127.0.0.1"),
		}, nil},
		{"spec.podCIDR alone, unmasked", []*corev1.Node{legacy, node("f", []string{"10.42.6.7/24"}, "192.168.1.16")},
			routes("10.42.5.0/24", "192.168.1.15", "10.42.6.0/24", "192.168.1.16")},
		{"own CIDR and overlaps skipped, duplicates to the first by name", []*corev1.Node{
			node("a", []string{"10.42.0.0/24"}, "192.168.1.10"),
			node("b", []string{"10.42.0.0/25"}, "192.168.1.11"),
			node("d", []string{"10.42.3.0/24"}, "192.168.1.14"),
			node("c", []string{"10.42.3.0/24"}, "192.168.1.13"),
		}, routes("10.42.3.0/24", "192.168.1.13")},
		{"being deleted", []*corev1.Node{node("a", []string{"10.42.0.0/24"}, "192.168.1.10"), deleted}, nil},
		{"self unknown yet", []*corev1.Node{node("b", []string{"10.42.1.0/24"}, "192.168.1.11")},
			routes("10.42.1.0/24", "192.168.1.11")},
		{"dual stack: each family via its own address", []*corev1.Node{
			node("a", []string{"10.42.0.0/24", "fd42::/64"}, "192.168.1.10", "fd00::10"),
			node("b", []string{"10.42.1.0/24", "fd42:0:0:1::/64"}, "fd00::11", "192.168.1.11"),
			node("c", []string{"fd42:0:0:2::/64"}, "192.168.1.12"),
		}, routes("10.42.1.0/24", "192.168.1.11", "fd42:0:0:1::/64", "fd00::11")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Desired("a", tc.nodes); !slices.Equal(got, tc.want) {
				t.Errorf("Desired = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name                string
		have, want          []Route
		wantWrite, wantRemo []Route
	}{
		{"nothing", nil, nil, nil, nil},
		{"fresh", nil, routes("10.42.1.0/24", "192.168.1.11"), routes("10.42.1.0/24", "192.168.1.11"), nil},
		{"in step", routes("10.42.1.0/24", "192.168.1.11"), routes("10.42.1.0/24", "192.168.1.11"), nil, nil},
		{"address changed: written over",
			routes("10.42.1.0/24", "192.168.1.11"), routes("10.42.1.0/24", "192.168.1.21"),
			routes("10.42.1.0/24", "192.168.1.21"), nil},
		{"node gone, stale from a previous run",
			routes("10.42.2.0/24", "192.168.1.12", "10.42.1.0/24", "192.168.1.11", "10.42.9.0/24", "192.168.1.19"),
			routes("10.42.1.0/24", "192.168.1.11"),
			nil, routes("10.42.2.0/24", "192.168.1.12", "10.42.9.0/24", "192.168.1.19")},
		{"wrong gateway beside the right one",
			routes("10.42.1.0/24", "192.168.1.99", "10.42.1.0/24", "192.168.1.11"), routes("10.42.1.0/24", "192.168.1.11"),
			nil, routes("10.42.1.0/24", "192.168.1.99")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write, remove := Diff(tc.have, tc.want)
			if !slices.Equal(write, tc.wantWrite) || !slices.Equal(remove, tc.wantRemo) {
				t.Errorf("Diff = write %v, remove %v\nwant write %v, remove %v", write, remove, tc.wantWrite, tc.wantRemo)
			}
		})
	}
}
