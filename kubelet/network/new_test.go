package network_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/netnstest"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/containernetworking/cni/libcni"
)

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	notNS := filepath.Join(dir, "not-a-netns")
	if err := os.WriteFile(notNS, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	for _, tc := range []struct {
		name string
		opts network.Options
		want string
	}{
		{"no dirs", network.Options{PodCIDR: "10.244.0.0/24"}, "ConfDir and DataDir are required"},
		{"bad pod CIDR", network.Options{ConfDir: dir, DataDir: dir, PodCIDR: "10.244.0.0"}, "pod CIDR"},
		{"host netns not a namespace", network.Options{ConfDir: dir, DataDir: dir, PodCIDR: "10.244.0.0/24", HostNetNS: notNS},
			"is not a mounted namespace"},
		{"plugins missing", network.Options{ConfDir: dir, DataDir: dir, PodCIDR: "10.244.0.0/24", PluginDirs: []string{empty, "/nonexistent"}},
			"CNI plugin bridge not found in " + empty + ", /nonexistent: install containernetworking-plugins (apt-get install containernetworking-plugins)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := network.New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNewWritesConflist(t *testing.T) {
	requireCNI(t)
	dir := t.TempDir()
	// New sets up the node's masquerade rules: in a node of the test's own,
	// never in the machine's namespace.
	node := netnstest.NewNode(t, "new")
	_, err := network.New(network.Options{
		ConfDir:   filepath.Join(dir, "conf"),
		DataDir:   filepath.Join(dir, "data"),
		PodCIDR:   "10.244.3.0/24",
		MTU:       1400,
		HostNetNS: node.Path,
	})
	if err != nil {
		t.Fatal(err)
	}
	list, err := libcni.NetworkConfFromFile(filepath.Join(dir, "conf", "10-berth.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	// Debian bookworm's plugins (v1.1.1) speak 1.0.0.
	if list.Name != "berth" || list.CNIVersion != "1.0.0" || len(list.Plugins) != 3 {
		t.Errorf("conflist: name %q, version %q, %d plugins", list.Name, list.CNIVersion, len(list.Plugins))
	}
	if !strings.Contains(string(list.Bytes), `"mtu": 1400`) || !strings.Contains(string(list.Bytes), `"subnet": "10.244.3.0/24"`) {
		t.Errorf("conflist lacks the MTU or the subnet:\n%s", list.Bytes)
	}
}
