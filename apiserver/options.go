package apiserver

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// DataDir holds etcd's data (unless EtcdEndpoints is set), TLS material and kubeconfigs.
	DataDir string
	// Listen is the HTTPS address (default 127.0.0.1:6443; port 0 picks one).
	Listen string
	// EtcdEndpoints names an external etcd cluster; empty embeds etcd in DataDir/etcd.
	EtcdEndpoints []string
	// ServiceCIDR is the range of Service ClusterIPs (default 10.96.0.0/12).
	ServiceCIDR string
	// NodePortRange is the range of NodePorts (default 30000-32767).
	NodePortRange string
	// ClusterCIDR is the pod network; each Node gets a /24 of it (default 10.42.0.0/16).
	ClusterCIDR string
	// Hosts are extra names and addresses for the serving certificate.
	Hosts []string
	// CompactionInterval is how often etcd history older than one interval is
	// compacted (default 5m; negative: never).
	CompactionInterval time.Duration
	// BookmarkInterval is how often watches get bookmarks (default 30s).
	BookmarkInterval time.Duration
	// Logger receives the server's logs (default slog.Default()).
	Logger *slog.Logger
	// Hooks are extra handlers served under path prefixes without bearer-token
	// authentication, such as the git push webhooks, which verify their own signatures.
	Hooks map[string]http.Handler
}

func (o *Options) setDefaults() error {
	if o.DataDir == "" {
		return fmt.Errorf("options: a data dir is required")
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:6443"
	}
	if o.ServiceCIDR == "" {
		o.ServiceCIDR = "10.96.0.0/12"
	}
	if o.NodePortRange == "" {
		o.NodePortRange = "30000-32767"
	}
	if o.ClusterCIDR == "" {
		o.ClusterCIDR = "10.42.0.0/16"
	}
	if o.CompactionInterval == 0 {
		o.CompactionInterval = 5 * time.Minute
	}
	if o.BookmarkInterval <= 0 {
		o.BookmarkInterval = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return nil
}

// parseCIDR parses an IPv4 CIDR flag.
func parseCIDR(flag, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("%s %q: want an IPv4 CIDR such as 10.96.0.0/12", flag, s)
	}
	return p.Masked(), nil
}

// parsePortRange parses "low-high".
func parsePortRange(s string) (int, int, error) {
	lo, hi, ok := strings.Cut(s, "-")
	l, err1 := strconv.Atoi(strings.TrimSpace(lo))
	h, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || l < 1 || h > 65535 || l > h {
		return 0, 0, fmt.Errorf("node port range %q: want low-high such as 30000-32767", s)
	}
	return l, h, nil
}
