package network

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden files")

func TestConflistGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		conf   conflistConfig
	}{
		{"conflist.golden.json", conflistConfig{
			cniVersion: "1.0.0",
			bridge:     "berth0",
			podCIDR:    netip.MustParsePrefix("10.244.1.0/24"),
			ipamDir:    "/var/lib/berth/cni",
		}},
		{"conflist-mtu-0.4.0.golden.json", conflistConfig{
			cniVersion: "0.4.0",
			bridge:     "br-test",
			podCIDR:    netip.MustParsePrefix("10.244.2.7/24"), // not masked: written as 10.244.2.0/24
			mtu:        1450,
			ipamDir:    "/tmp/ipam",
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			got, err := conflist(tc.conf)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("conflist differs from %s (-want +got):\n%s", path, diff)
			}
			list, err := libcni.NetworkConfFromBytes(got)
			if err != nil {
				t.Fatalf("libcni cannot read the conflist: %v", err)
			}
			var types []string
			for _, p := range list.Plugins {
				types = append(types, p.Network.Type)
			}
			if diff := cmp.Diff([]string{"bridge", "portmap", "loopback"}, types); diff != "" {
				t.Errorf("plugins (-want +got):\n%s", diff)
			}
			if !list.Plugins[1].Network.Capabilities["portMappings"] {
				t.Errorf("portmap lacks the portMappings capability")
			}
		})
	}
}

func TestConflistErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		conf conflistConfig
		want string
	}{
		{"no CIDR", conflistConfig{}, "want an IPv4 prefix"},
		{"IPv6", conflistConfig{podCIDR: netip.MustParsePrefix("fd00::/64")}, "want an IPv4 prefix"},
		{"too small", conflistConfig{podCIDR: netip.MustParsePrefix("10.0.0.0/31")}, "too small"},
		{"negative MTU", conflistConfig{podCIDR: netip.MustParsePrefix("10.0.0.0/24"), mtu: -1}, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := conflist(tc.conf)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("conflist() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestChooseVersion(t *testing.T) {
	for _, tc := range []struct {
		supported []string
		want      string // empty: an error
	}{
		{[]string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"}, "1.0.0"},
		{[]string{"0.3.1", "0.4.0", "1.0.0", "1.1.0"}, "1.0.0"},
		{[]string{"0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0"}, "0.4.0"},
		{[]string{"0.1.0", "0.2.0", "0.3.1"}, ""},
		{nil, ""},
	} {
		got, err := chooseVersion(tc.supported)
		if tc.want == "" {
			if err == nil {
				t.Errorf("chooseVersion(%v) = %q, want an error", tc.supported, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("chooseVersion(%v) = %q, %v; want %q", tc.supported, got, err, tc.want)
		}
	}
}
