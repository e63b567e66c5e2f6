package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/dns"
	"github.com/berth-dev/berth/kubelet/routes"
	"github.com/berth-dev/berth/kubeproxy"
)

// nodeServices configures what a node runs beside its kubelet for
// Services and the pod network: kube-proxy, the node-local DNS server, and
// the routes to the other nodes' pod CIDRs.
type nodeServices struct {
	client        kubernetes.Interface
	nodeName      string
	netns         string // the node's network namespace; empty: the process's own
	clusterCIDR   string
	clusterDomain string
	// dnsAddr is the node-local DNS address (the first --cluster-dns);
	// invalid: no DNS server.
	dnsAddr       netip.Addr
	lbPool        []netip.Prefix
	minSyncPeriod time.Duration
	log           *slog.Logger
}

// run runs kube-proxy, the DNS server and the pod routes until ctx ends or
// one fails.
func (n nodeServices) run(ctx context.Context) error {
	proxy, err := kubeproxy.New(kubeproxy.Options{
		Client: n.client, NodeName: n.nodeName, NetNS: n.netns, ClusterCIDR: n.clusterCIDR,
		MinSyncPeriod: n.minSyncPeriod, LBPool: n.lbPool, Logger: n.log.With("component", "kube-proxy"),
	})
	if err != nil {
		return err
	}
	podRoutes, err := routes.New(routes.Options{
		Client: n.client, NodeName: n.nodeName, NetNS: n.netns, Logger: n.log,
	})
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return proxy.Run(ctx) })
	g.Go(func() error { return podRoutes.Run(ctx) })
	if n.dnsAddr.IsValid() {
		g.Go(func() error { return n.runDNS(ctx) })
	}
	return g.Wait()
}

// runDNS serves the cluster's names on the node-local address and on the
// kube-dns Service's ClusterIP, both put on the node's lo.
func (n nodeServices) runDNS(ctx context.Context) error {
	addrs := []netip.Addr{n.dnsAddr}
	if ip, err := n.dnsServiceIP(ctx); err != nil {
		return err
	} else if ip.IsValid() {
		addrs = append(addrs, ip)
	}
	if err := dns.SetupNodeLocal(n.netns, addrs...); err != nil {
		return fmt.Errorf("node-local DNS: %w", err)
	}
	listen := make([]string, len(addrs))
	for i, a := range addrs {
		listen[i] = netip.AddrPortFrom(a, 53).String()
	}
	srv, err := dns.New(dns.Options{
		Client: n.client, Domain: n.clusterDomain, Listen: listen, NetNS: n.netns,
		Logger: n.log.With("component", "dns"),
	})
	if err != nil {
		return err
	}
	n.log.Info("cluster DNS", "listen", strings.Join(listen, ","), "domain", n.clusterDomain)
	return srv.Run(ctx)
}

// dnsServiceIP returns the ClusterIP of kube-system/kube-dns, which the API
// server creates at start; the zero Addr when the server has none.
func (n nodeServices) dnsServiceIP(ctx context.Context) (netip.Addr, error) {
	for {
		svc, err := n.client.CoreV1().Services(metav1.NamespaceSystem).Get(ctx, apiserver.DNSServiceName, metav1.GetOptions{})
		switch {
		case err == nil:
			ip, err := netip.ParseAddr(svc.Spec.ClusterIP)
			if err != nil {
				return netip.Addr{}, fmt.Errorf("service %s/%s: clusterIP %q: %w", metav1.NamespaceSystem, apiserver.DNSServiceName, svc.Spec.ClusterIP, err)
			}
			return ip, nil
		case apierrors.IsNotFound(err):
			n.log.Warn("no kube-dns Service: DNS answers on the node-local address only", "service", metav1.NamespaceSystem+"/"+apiserver.DNSServiceName)
			return netip.Addr{}, nil
		}
		n.log.Warn("get the kube-dns Service, retrying", "err", err)
		select {
		case <-ctx.Done():
			return netip.Addr{}, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// parseLBPool parses --lb-pool: addresses and CIDRs, comma-separated.
func parseLBPool(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range items {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--lb-pool %q: want an address or a CIDR, such as 192.168.1.240/28", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
