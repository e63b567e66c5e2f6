package dns

import (
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Index names of the catalog's informers.
const (
	// byServiceName indexes EndpointSlices by "<ns>/<service>", from their
	// kubernetes.io/service-name label.
	byServiceName = "serviceName"
	// byIP indexes Services by their cluster IPs and EndpointSlices by their
	// endpoints' addresses, for reverse lookups.
	byIP = "ip"
)

// catalog is what the server answers from: the cluster's Services and
// EndpointSlices, kept by client-go informers.
type catalog struct {
	factory  informers.SharedInformerFactory
	services cache.SharedIndexInformer
	slices   cache.SharedIndexInformer
}

// newCatalog sets up (but does not start) informers on all namespaces.
func newCatalog(client kubernetes.Interface) (*catalog, error) {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTransform(stripManagedFields))
	c := &catalog{
		factory:  factory,
		services: factory.Core().V1().Services().Informer(),
		slices:   factory.Discovery().V1().EndpointSlices().Informer(),
	}
	if err := c.services.AddIndexers(cache.Indexers{byIP: serviceIPs}); err != nil {
		return nil, fmt.Errorf("index Services: %w", err)
	}
	if err := c.slices.AddIndexers(cache.Indexers{byServiceName: sliceService, byIP: sliceIPs}); err != nil {
		return nil, fmt.Errorf("index EndpointSlices: %w", err)
	}
	return c, nil
}

// stripManagedFields drops what the server never reads, to keep the
// informers' memory small.
func stripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a != nil {
			delete(a, corev1.LastAppliedConfigAnnotation)
		}
	}
	return obj, nil
}

// serviceIPs is the byIP index function of Services.
func serviceIPs(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	var ips []string
	for _, ip := range clusterIPs(svc) {
		ips = append(ips, ip.String())
	}
	return ips, nil
}

// sliceService is the byServiceName index function of EndpointSlices.
func sliceService(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	svc := s.Labels[discoveryv1.LabelServiceName]
	if svc == "" {
		return nil, nil
	}
	return []string{s.Namespace + "/" + svc}, nil
}

// sliceIPs is the byIP index function of EndpointSlices.
func sliceIPs(obj any) ([]string, error) {
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	var ips []string
	for _, ep := range s.Endpoints {
		for _, a := range ep.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				ips = append(ips, ip.String())
			}
		}
	}
	return ips, nil
}

// service returns the Service ns/name, or nil.
func (c *catalog) service(ns, name string) *corev1.Service {
	obj, ok, err := c.services.GetIndexer().GetByKey(ns + "/" + name)
	if err != nil || !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

// hasNamespace reports whether any Service lives in namespace ns.
func (c *catalog) hasNamespace(ns string) bool {
	keys, err := c.services.GetIndexer().IndexKeys(cache.NamespaceIndex, ns)
	return err == nil && len(keys) > 0
}

// endpoint is one address of a Service's endpoints, with the ports of the
// EndpointSlice it comes from.
type endpoint struct {
	name  string // the endpoint's hostname, or its dashed address
	addr  netip.Addr
	ports []discoveryv1.EndpointPort
}

// endpoints returns the addresses of svc's ready endpoints (every endpoint
// when the Service publishes not-ready addresses), one per address, sorted
// by address.
func (c *catalog) endpoints(svc *corev1.Service) []endpoint {
	objs, err := c.slices.GetIndexer().ByIndex(byServiceName, svc.Namespace+"/"+svc.Name)
	if err != nil {
		return nil
	}
	var eps []endpoint
	seen := map[netip.Addr]bool{}
	for _, obj := range objs {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok || (s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6) {
			continue
		}
		for _, ep := range s.Endpoints {
			if !ready(ep) && !svc.Spec.PublishNotReadyAddresses {
				continue
			}
			for _, a := range ep.Addresses {
				ip, err := netip.ParseAddr(a)
				if err != nil || seen[ip] {
					continue
				}
				seen[ip] = true
				e := endpoint{name: dashed(ip), addr: ip, ports: s.Ports}
				if ep.Hostname != nil && *ep.Hostname != "" {
					e.name = *ep.Hostname
				}
				eps = append(eps, e)
			}
		}
	}
	slices.SortFunc(eps, func(a, b endpoint) int { return a.addr.Compare(b.addr) })
	return eps
}

// ready reports whether an endpoint takes traffic: its ready condition is
// true or unset (the API's "nil means ready").
func ready(ep discoveryv1.Endpoint) bool {
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}

// reverse returns the fully qualified names (relative to zone's services,
// "<svc>.<ns>" or "<endpoint>.<svc>.<ns>") that own ip: Services whose
// cluster IP it is, and endpoints of headless Services that have it.
func (c *catalog) reverse(ip netip.Addr) []string {
	var names []string
	objs, _ := c.services.GetIndexer().ByIndex(byIP, ip.String())
	for _, obj := range objs {
		if svc, ok := obj.(*corev1.Service); ok {
			names = append(names, svc.Name+"."+svc.Namespace)
		}
	}
	objs, _ = c.slices.GetIndexer().ByIndex(byIP, ip.String())
	for _, obj := range objs {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			continue
		}
		svc := c.service(s.Namespace, s.Labels[discoveryv1.LabelServiceName])
		if svc == nil || !headless(svc) {
			continue
		}
		for _, ep := range c.endpoints(svc) {
			if ep.addr == ip {
				names = append(names, ep.name+"."+svc.Name+"."+svc.Namespace)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// headless reports whether svc has no cluster IP (and is not an
// ExternalName Service): its name resolves to its endpoints.
func headless(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP == corev1.ClusterIPNone
}

// clusterIPs returns svc's cluster IPs, none for headless and ExternalName
// Services.
func clusterIPs(svc *corev1.Service) []netip.Addr {
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	raw := svc.Spec.ClusterIPs
	if len(raw) == 0 && svc.Spec.ClusterIP != "" {
		raw = []string{svc.Spec.ClusterIP}
	}
	var ips []netip.Addr
	for _, s := range raw {
		if ip, err := netip.ParseAddr(s); err == nil {
			ips = append(ips, ip.Unmap())
		}
	}
	return ips
}
