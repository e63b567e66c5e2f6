package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/kubelet"
	"github.com/berth-dev/berth/kubelet/runtime"
	"github.com/berth-dev/berth/kubeproxy"
)

// agentFlags are the flags of `berth agent`.
type agentFlags struct {
	server, tokenFile, caFile, kubeconfig string
	nodeName, dataDir                     string
	containerdAddress, nodeNetNS          string
	reserved, kubeletAddr                 string
	clusterCIDR, clusterDomain            string
	clusterDNS, lbPool                    []string
	minSyncPeriod                         time.Duration
}

// newAgentCommand builds `berth agent`: the kubelet of a node.
func newAgentCommand() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run a node: its kubelet, kube-proxy and DNS server",
		Long: `Run a node. Its kubelet registers the Node, renews its Lease, and runs the
pods bound to it as containers on containerd (a private containerd under
--data-dir unless --containerd-address is given), networked through CNI
(Debian's containernetworking-plugins). Its kube-proxy routes Service traffic
with iptables, and its DNS server answers the cluster's names on the
node-local address (--cluster-dns) and the kube-dns Service's ClusterIP.
Credentials: --kubeconfig (such as the server's node.kubeconfig), or --server
with --token-file and --ca-file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			cfg, err := agentRESTConfig(f)
			if err != nil {
				return err
			}
			return runAgent(ctx, f, cfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "API server URL (https://HOST:PORT); several, comma-separated, to fail over between the servers of an HA control plane")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the node's bearer token")
	fl.StringVar(&f.caFile, "ca-file", "", "CA certificate of the API server (PEM)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig with the node's credentials, instead of --server/--token-file/--ca-file")
	fl.StringVar(&f.dataDir, "data-dir", "/var/lib/berth/agent", "directory of the agent's state")
	fl.StringVar(&f.clusterCIDR, "cluster-cidr", "10.42.0.0/16", "the cluster's pod network (the server's --cluster-cidr): pod traffic leaving it is masqueraded")
	f.register(cmd)
	return cmd
}

// register adds the flags of a node, but for its data dir, credentials and
// cluster CIDR, to cmd.
func (f *agentFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.nodeName, "node-name", "", "name of the Node (default: the host name)")
	fl.StringVar(&f.containerdAddress, "containerd-address", "", "socket of a running containerd (default: start a private one under --data-dir)")
	fl.StringVar(&f.nodeNetNS, "node-netns", "", "network namespace the node lives in (such as /run/netns/NAME); CNI plugins and probes run there")
	fl.StringVar(&f.kubeletAddr, "kubelet-addr", ":10250", "address of the kubelet's HTTPS server (container logs for the API server); empty: none")
	fl.StringSliceVar(&f.clusterDNS, "cluster-dns", []string{"169.254.20.10"}, "nameservers of pods with dnsPolicy ClusterFirst (the node-local DNS server)")
	fl.StringVar(&f.clusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	fl.StringSliceVar(&f.lbPool, "lb-pool", nil, "addresses and CIDRs LoadBalancer Services get (default: the InternalIPs of the Ready nodes, as k3s's ServiceLB)")
	fl.DurationVar(&f.minSyncPeriod, "min-sync-period", kubeproxy.DefaultMinSyncPeriod, "least time between two kube-proxy syncs of the iptables rules")
	fl.StringVar(&f.reserved, "reserved", "", "resources kept from pods, such as cpu=100m,memory=256Mi")
}

// runAgent runs the kubelet, kube-proxy and the node-local DNS server,
// talking to the API server with cfg, until ctx ends.
func runAgent(ctx context.Context, f agentFlags, cfg *rest.Config) error {
	log := slog.Default().With("component", "agent")
	if f.nodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("--node-name not given and no host name: %w", err)
		}
		f.nodeName = strings.ToLower(h)
	}
	reserved, err := parseReserved(f.reserved)
	if err != nil {
		return err
	}
	lbPool, err := parseLBPool(f.lbPool)
	if err != nil {
		return err
	}
	var dnsAddr netip.Addr
	if len(f.clusterDNS) > 0 {
		if dnsAddr, err = netip.ParseAddr(f.clusterDNS[0]); err != nil {
			return fmt.Errorf("--cluster-dns %q: want an IP address", f.clusterDNS[0])
		}
	}
	cfg = rest.CopyConfig(cfg)
	// The kubelet's own defaults (kubeAPIQPS 50, kubeAPIBurst 100): client-go's
	// 5 and 10 would queue the status writes of 20 pods started at once for
	// seconds.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("API client: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable, the log driver: %w", err)
	}
	address := f.containerdAddress
	var runcRoot string
	if address == "" {
		if err := runtime.CheckBinaries(); err != nil {
			return err
		}
		d, err := runtime.StartDaemon(ctx, runtime.DaemonOptions{Dir: filepath.Join(f.dataDir, "containerd"), Logger: log})
		if err != nil {
			return err
		}
		defer d.Stop()
		address, runcRoot = d.Address(), d.RuncRoot()
	}
	rt, err := runtime.New(runtime.Options{Address: address, LogDriver: exe, RuncRoot: runcRoot, Logger: log})
	if err != nil {
		return err
	}
	defer rt.Close()
	k, err := kubelet.New(kubelet.Options{
		NodeName:      f.nodeName,
		Client:        client,
		DataDir:       f.dataDir,
		Runtime:       rt,
		HostNetNS:     f.nodeNetNS,
		Reserved:      reserved,
		ClusterCIDR:   f.clusterCIDR,
		ClusterDNS:    f.clusterDNS,
		ClusterDomain: f.clusterDomain,
		LogContainers: true,
		ServerAddr:    f.kubeletAddr,
		Logger:        log,
	})
	if err != nil {
		return err
	}
	svcs := nodeServices{
		client: client, nodeName: f.nodeName, netns: f.nodeNetNS, clusterCIDR: f.clusterCIDR,
		clusterDomain: f.clusterDomain, dnsAddr: dnsAddr, lbPool: lbPool, minSyncPeriod: f.minSyncPeriod, log: log,
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return k.Run(ctx) })
	g.Go(func() error { return svcs.run(ctx) })
	return g.Wait()
}

// agentRESTConfig is the client config from --kubeconfig, or from
// --server, --token-file and --ca-file. --server may list several servers
// of an HA control plane, comma-separated: the agent fails over between
// them (withFailover).
func agentRESTConfig(f agentFlags) (*rest.Config, error) {
	servers := splitServers(f.server)
	if f.kubeconfig != "" {
		first := ""
		if len(servers) > 0 {
			first = servers[0]
		}
		cfg, err := clientcmd.BuildConfigFromFlags(first, f.kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig: %w", err)
		}
		return withFailover(cfg, servers)
	}
	if len(servers) == 0 || f.tokenFile == "" {
		return nil, errors.New("give --kubeconfig, or --server and --token-file (and --ca-file)")
	}
	token, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return nil, fmt.Errorf("--token-file: %w", err)
	}
	cfg := &rest.Config{Host: servers[0], BearerToken: strings.TrimSpace(string(token))}
	cfg.TLSClientConfig.CAFile = f.caFile
	return withFailover(cfg, servers)
}

// parseReserved parses "cpu=100m,memory=256Mi".
func parseReserved(s string) (corev1.ResourceList, error) {
	out := corev1.ResourceList{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return nil, fmt.Errorf("--reserved %q: want NAME=QUANTITY", kv)
		}
		q, err := resource.ParseQuantity(value)
		if err != nil {
			return nil, fmt.Errorf("--reserved %s: %w", name, err)
		}
		out[corev1.ResourceName(name)] = q
	}
	return out, nil
}
