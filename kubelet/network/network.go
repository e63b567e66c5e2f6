package network

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
)

// Options configure a [Network].
type Options struct {
	// ConfDir is where New writes the CNI configuration list
	// (ConfDir/10-berth.conflist). Required.
	ConfDir string
	// DataDir holds the network's state: host-local's address allocations
	// (DataDir/berth/) and libcni's cache of results (DataDir/cache/),
	// which Teardown and Check of pods set up by an earlier agent need.
	// Required.
	DataDir string
	// PluginDirs are searched for the CNI plugins, in order. Default
	// /usr/lib/cni (Debian's containernetworking-plugins) and /opt/cni/bin.
	PluginDirs []string
	// BridgeName is the bridge in the node's network namespace that pods
	// attach to. Default "berth0".
	BridgeName string
	// PodCIDR is the node's pod CIDR, such as 10.244.1.0/24: pods get
	// addresses from it, and the bridge its first address. Required.
	PodCIDR string
	// ClusterCIDR is the cluster's pod network, such as 10.42.0.0/16:
	// traffic from the node's pods to it keeps its source address; the rest
	// is masqueraded. Default PodCIDR.
	ClusterCIDR string
	// MTU of the bridge and the pods' interfaces; 0 leaves the plugin's
	// default (the bridge's).
	MTU int
	// HostNetNS is the node's network namespace (a path such as
	// /run/netns/NAME) in which the plugins run: the bridge, routes and
	// iptables rules are made there. Empty means the process's own
	// network namespace.
	HostNetNS string
}

// DefaultPluginDirs are where New looks for the CNI plugins by default.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// DefaultBridgeName is the bridge New uses by default.
const DefaultBridgeName = "berth0"

// versionTimeout bounds asking a plugin for its versions at New.
const versionTimeout = 10 * time.Second

// Network sets up pods' network namespaces on one node through CNI. Its
// methods are safe for concurrent use.
type Network struct {
	hostNetNS string
	ipamDir   string
	list      *libcni.NetworkConfigList
	checkList *libcni.NetworkConfigList // list without portmap; see Check
	cni       *libcni.CNIConfig
}

// New checks that the CNI plugins and iptables are installed, picks the
// newest CNI spec version the plugins support, and writes the
// configuration list to opts.ConfDir. In the node's network namespace it
// sets up only the masquerading of the pods' traffic (ensurePodMasquerade):
// the bridge appears with the first pod.
func New(opts Options) (*Network, error) {
	if opts.ConfDir == "" || opts.DataDir == "" {
		return nil, fmt.Errorf("CNI network: ConfDir and DataDir are required")
	}
	if len(opts.PluginDirs) == 0 {
		opts.PluginDirs = DefaultPluginDirs
	}
	if opts.BridgeName == "" {
		opts.BridgeName = DefaultBridgeName
	}
	podCIDR, err := netip.ParsePrefix(opts.PodCIDR)
	if err != nil {
		return nil, fmt.Errorf("CNI network: pod CIDR: %w", err)
	}
	clusterCIDR := podCIDR.Masked()
	if opts.ClusterCIDR != "" {
		if clusterCIDR, err = netip.ParsePrefix(opts.ClusterCIDR); err != nil || !clusterCIDR.Addr().Is4() {
			return nil, fmt.Errorf("CNI network: cluster CIDR %q: want an IPv4 prefix such as 10.42.0.0/16", opts.ClusterCIDR)
		}
		clusterCIDR = clusterCIDR.Masked()
	}
	if opts.HostNetNS != "" && !isNamespace(opts.HostNetNS) {
		return nil, fmt.Errorf("CNI network: host network namespace %s is not a mounted namespace", opts.HostNetNS)
	}
	for _, p := range requiredPlugins {
		if _, err := invoke.FindInPath(p, opts.PluginDirs); err != nil {
			return nil, fmt.Errorf("CNI plugin %s not found in %s: install containernetworking-plugins (apt-get install containernetworking-plugins)",
				p, strings.Join(opts.PluginDirs, ", "))
		}
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("iptables not found in PATH, the bridge and portmap CNI plugins need it: install iptables (apt-get install iptables)")
	}

	exe := &invoke.DefaultExec{RawExec: &invoke.RawExec{}, PluginDecoder: version.PluginDecoder{}}
	n := &Network{
		hostNetNS: opts.HostNetNS,
		ipamDir:   opts.DataDir,
		cni:       libcni.NewCNIConfigWithCacheDir(opts.PluginDirs, filepath.Join(opts.DataDir, "cache"), exe),
	}
	cniVersion, err := n.pluginVersion()
	if err != nil {
		return nil, err
	}
	conf, err := conflist(conflistConfig{
		cniVersion: cniVersion,
		bridge:     opts.BridgeName,
		podCIDR:    podCIDR,
		mtu:        opts.MTU,
		ipamDir:    opts.DataDir,
	})
	if err != nil {
		return nil, fmt.Errorf("CNI network: %w", err)
	}
	if n.list, err = libcni.NetworkConfFromBytes(conf); err != nil {
		return nil, fmt.Errorf("CNI network: parse own configuration: %w", err)
	}
	checkList := *n.list
	checkList.Plugins = slices.DeleteFunc(slices.Clone(n.list.Plugins), func(p *libcni.PluginConfig) bool {
		return p.Network.Type == "portmap"
	})
	n.checkList = &checkList
	if err := writeFile(filepath.Join(opts.ConfDir, "10-berth.conflist"), conf); err != nil {
		return nil, fmt.Errorf("CNI network: %w", err)
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("CNI network: %w", err)
	}
	if err := n.inHost(func() error { return ensurePodMasquerade(podCIDR.Masked(), clusterCIDR) }); err != nil {
		return nil, fmt.Errorf("CNI network: %w", err)
	}
	return n, nil
}

// pluginVersion returns the best CNI spec version all required plugins
// support.
func (n *Network) pluginVersion() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), versionTimeout)
	defer cancel()
	var common []string
	for i, p := range requiredPlugins {
		info, err := n.cni.GetVersionInfo(ctx, p)
		if err != nil {
			return "", fmt.Errorf("CNI plugin %s: ask for its versions: %w", p, err)
		}
		if i == 0 {
			common = info.SupportedVersions()
			continue
		}
		common = slices.DeleteFunc(common, func(v string) bool {
			return !slices.Contains(info.SupportedVersions(), v)
		})
	}
	v, err := chooseVersion(common)
	if err != nil {
		return "", fmt.Errorf("CNI plugins: %w", err)
	}
	return v, nil
}

// inHost runs fn in the node's network namespace: on a thread in
// HostNetNS when one is set, so that the plugins fork from it and are born
// there.
func (n *Network) inHost(fn func() error) error {
	if n.hostNetNS == "" {
		return fn()
	}
	return Do(n.hostNetNS, fn)
}

// writeFile replaces path's content atomically, creating its directory.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
