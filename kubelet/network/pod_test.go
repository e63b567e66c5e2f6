package network

import (
	"net"
	"net/netip"
	"strings"
	"testing"

	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/google/go-cmp/cmp"
)

func TestRuntimeConfPortMappings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ports   []PortMapping
		want    []portMappingJSON // nil: no portMappings capability argument
		wantErr string
	}{
		{name: "none"},
		{name: "hostPort 0 ignored", ports: []PortMapping{{ContainerPort: 80}}},
		{
			name:  "protocols lowercased, TCP by default",
			ports: []PortMapping{{HostPort: 8080, ContainerPort: 80}, {HostPort: 53, ContainerPort: 5353, Protocol: "UDP", HostIP: "192.168.234.10"}},
			want:  []portMappingJSON{{8080, 80, "tcp", ""}, {53, 5353, "udp", "192.168.234.10"}},
		},
		{name: "bad protocol", ports: []PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "ICMP"}}, wantErr: `unknown protocol "ICMP"`},
		{name: "container port 0", ports: []PortMapping{{HostPort: 1}}, wantErr: "1 to 65535"},
		{name: "host port too big", ports: []PortMapping{{HostPort: 70000, ContainerPort: 1}}, wantErr: "1 to 65535"},
		{name: "bad host IP", ports: []PortMapping{{HostPort: 1, ContainerPort: 1, HostIP: "node"}}, wantErr: "host IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := Pod{UID: "4f1c7a32-0000-4d8e-a0c1-000000000009", Namespace: "ns", Name: "p", PortMappings: tc.ports}
			rt, err := runtimeConf(pod, "/run/netns/x")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("runtimeConf error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []portMappingJSON
			if pm, ok := rt.CapabilityArgs["portMappings"]; ok {
				got = pm.([]portMappingJSON)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("portMappings (-want +got):\n%s", diff)
			}
			if rt.ContainerID != pod.UID || rt.NetNS != "/run/netns/x" || rt.IfName != "eth0" {
				t.Errorf("runtime conf %+v", rt)
			}
		})
	}
}

func TestRuntimeConfBadUID(t *testing.T) {
	for _, uid := range []string{"", "-x", "a/b", "a b"} {
		if _, err := runtimeConf(Pod{UID: uid}, ""); err == nil {
			t.Errorf("runtimeConf with UID %q: no error", uid)
		}
	}
}

func TestPodResult(t *testing.T) {
	zero, one := 0, 1
	res := &types100.Result{
		CNIVersion: "1.0.0",
		Interfaces: []*types100.Interface{
			{Name: "berth0"},
			{Name: "eth0", Sandbox: "/run/netns/pod"},
		},
		IPs: []*types100.IPConfig{
			{Interface: &zero, Address: net.IPNet{IP: net.ParseIP("10.244.1.1"), Mask: net.CIDRMask(24, 32)}},
			{Interface: &one, Address: net.IPNet{IP: net.ParseIP("10.244.1.5"), Mask: net.CIDRMask(24, 32)}, Gateway: net.ParseIP("10.244.1.1")},
		},
	}
	got, err := podResult(res)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{IP: netip.MustParseAddr("10.244.1.5"), Gateway: netip.MustParseAddr("10.244.1.1")}
	if got != want {
		t.Errorf("podResult = %+v, want %+v", got, want)
	}

	res.IPs = res.IPs[:1]
	if _, err := podResult(res); err == nil {
		t.Errorf("podResult without an address inside the pod: no error")
	}
}

func TestMasqueradeNames(t *testing.T) {
	// As the bridge plugin v1.1.1 named them for this container ID.
	const id = "0b6ad3de-dddd-4c0e-9d55-000000000004"
	if got, want := masqueradeChain(id), "CNI-ab890aa8f5f616b7d417821d"; got != want {
		t.Errorf("masqueradeChain = %s, want %s", got, want)
	}
	if got, want := masqueradeComment(id), `name: "berth" id: "0b6ad3de-dddd-4c0e-9d55-000000000004"`; got != want {
		t.Errorf("masqueradeComment = %s, want %s", got, want)
	}
}

func TestJumpSource(t *testing.T) {
	const chain = "CNI-ab890aa8f5f616b7d417821d"
	for _, tc := range []struct {
		rule, want string
		ok         bool
	}{
		{`-A POSTROUTING -s 10.244.7.2/32 -m comment --comment "name: \"berth\" id: \"x\"" -j CNI-ab890aa8f5f616b7d417821d`, "10.244.7.2/32", true},
		{`-A POSTROUTING -s 10.244.7.3/32 -m comment --comment "name: \"berth\" id: \"y\"" -j CNI-0000000000000000000000000`, "", false},
		{`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ`, "", false},
		{`-P POSTROUTING ACCEPT`, "", false},
	} {
		got, ok := jumpSource(tc.rule, chain)
		if got != tc.want || ok != tc.ok {
			t.Errorf("jumpSource(%q) = %q, %v; want %q, %v", tc.rule, got, ok, tc.want, tc.ok)
		}
	}
}
