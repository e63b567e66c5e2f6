package network

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
)

// networkName is the CNI network's name: it names host-local's state
// directory (DataDir/berth) and is part of the iptables chains the plugins
// write.
const networkName = "berth"

// conflistConfig is what the CNI configuration list depends on.
type conflistConfig struct {
	cniVersion string
	bridge     string
	podCIDR    netip.Prefix
	mtu        int
	ipamDir    string
}

// Types for the JSON of the configuration list, in the plugins' field order.
type (
	conflistJSON struct {
		CNIVersion string `json:"cniVersion"`
		Name       string `json:"name"`
		Plugins    []any  `json:"plugins"`
	}
	bridgeJSON struct {
		Type        string   `json:"type"`
		Bridge      string   `json:"bridge"`
		IsGateway   bool     `json:"isGateway"`
		IPMasq      bool     `json:"ipMasq"`
		HairpinMode bool     `json:"hairpinMode"`
		MTU         int      `json:"mtu,omitempty"`
		IPAM        ipamJSON `json:"ipam"`
	}
	ipamJSON struct {
		Type    string        `json:"type"`
		DataDir string        `json:"dataDir"`
		Ranges  [][]rangeJSON `json:"ranges"`
		Routes  []routeJSON   `json:"routes"`
	}
	rangeJSON struct {
		Subnet string `json:"subnet"`
	}
	routeJSON struct {
		Dst string `json:"dst"`
	}
	portmapJSON struct {
		Type         string          `json:"type"`
		Capabilities map[string]bool `json:"capabilities"`
		SNAT         bool            `json:"snat"`
	}
	loopbackJSON struct {
		Type string `json:"type"`
	}
)

// conflist returns the CNI configuration list for a node: a bridge with
// host-local addresses from the pod CIDR and a default route through the
// bridge, masquerading traffic that leaves the pod CIDR; portmap for
// hostPorts; and loopback, last, which brings the pod's lo up and passes
// the bridge's result on unchanged.
func conflist(c conflistConfig) ([]byte, error) {
	if !c.podCIDR.IsValid() || !c.podCIDR.Addr().Is4() {
		return nil, fmt.Errorf("pod CIDR %q: want an IPv4 prefix", c.podCIDR)
	}
	if c.podCIDR.Bits() > 30 {
		return nil, fmt.Errorf("pod CIDR %s: too small for a gateway and a pod", c.podCIDR)
	}
	if c.mtu < 0 {
		return nil, fmt.Errorf("MTU %d: must not be negative", c.mtu)
	}
	list := conflistJSON{
		CNIVersion: c.cniVersion,
		Name:       networkName,
		Plugins: []any{
			bridgeJSON{
				Type:        "bridge",
				Bridge:      c.bridge,
				IsGateway:   true,
				IPMasq:      false, // one chain for the node: ensurePodMasquerade
				HairpinMode: true,
				MTU:         c.mtu,
				IPAM: ipamJSON{
					Type:    "host-local",
					DataDir: c.ipamDir,
					Ranges:  [][]rangeJSON{{{Subnet: c.podCIDR.Masked().String()}}},
					Routes:  []routeJSON{{Dst: "0.0.0.0/0"}},
				},
			},
			portmapJSON{
				Type:         "portmap",
				Capabilities: map[string]bool{"portMappings": true},
				SNAT:         true,
			},
			loopbackJSON{Type: "loopback"},
		},
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode CNI configuration: %w", err)
	}
	return append(b, '\n'), nil
}

// requiredPlugins are the plugins conflist uses.
var requiredPlugins = []string{"bridge", "host-local", "portmap", "loopback"}

// preferredVersions are the CNI spec versions berth can write, best first.
var preferredVersions = []string{"1.0.0", "0.4.0"}

// chooseVersion returns the best spec version in preferredVersions that
// the plugins support (the versions a plugin answers to the VERSION
// command).
func chooseVersion(supported []string) (string, error) {
	for _, v := range preferredVersions {
		if slices.Contains(supported, v) {
			return v, nil
		}
	}
	return "", fmt.Errorf("plugins support CNI versions %v, berth needs one of %v: install a newer containernetworking-plugins", supported, preferredVersions)
}
