package apiserver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/apiserver/storage"
)

// allocPrefix holds one key per allocated ClusterIP, NodePort and pod CIDR. A key is
// created in the same transaction as the object that holds it, on the condition that
// it does not exist yet, and deleted with it: no double allocation under concurrent
// creates, and nothing to rebuild after a restart.
const allocPrefix = storage.RootPrefix + "ranges/"

// retryKey marks the context of a create that retries after an allocation conflict.
type retryKey struct{}

// allocator hands out Service ClusterIPs and NodePorts and Node pod CIDRs.
type allocator struct {
	client         *clientv3.Client
	serviceCIDR    netip.Prefix
	portLo, portHi int
	clusterCIDR    netip.Prefix
}

func newAllocator(c *clientv3.Client, o Options) (*allocator, error) {
	svc, err := parseCIDR("--service-cidr", o.ServiceCIDR)
	if err != nil {
		return nil, err
	}
	cluster, err := parseCIDR("--cluster-cidr", o.ClusterCIDR)
	if err != nil {
		return nil, err
	}
	if cluster.Bits() > 24 {
		return nil, fmt.Errorf("--cluster-cidr %s: want /24 or larger, each node gets a /24", cluster)
	}
	if svc.Bits() > 29 {
		return nil, fmt.Errorf("--service-cidr %s: too small", svc)
	}
	lo, hi, err := parsePortRange(o.NodePortRange)
	if err != nil {
		return nil, err
	}
	return &allocator{client: c, serviceCIDR: svc, portLo: lo, portHi: hi, clusterCIDR: cluster}, nil
}

func ipKey(ip string) string    { return allocPrefix + "serviceips/" + ip }
func portKey(port int32) string { return allocPrefix + "servicenodeports/" + strconv.Itoa(int(port)) }
func cidrKey(cidr string) string {
	return allocPrefix + "podcidrs/" + strings.ReplaceAll(cidr, "/", "_")
}

// claims lists the allocation keys an object holds.
func claims(obj runtime.Object) []string {
	var keys []string
	switch o := obj.(type) {
	case *corev1.Service:
		if ip := o.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
			keys = append(keys, ipKey(ip))
		}
		seen := map[int32]bool{}
		for _, p := range o.Spec.Ports {
			if p.NodePort != 0 && !seen[p.NodePort] {
				seen[p.NodePort] = true
				keys = append(keys, portKey(p.NodePort))
			}
		}
		if hc := o.Spec.HealthCheckNodePort; hc != 0 && !seen[hc] {
			keys = append(keys, portKey(hc))
		}
	case *corev1.Node:
		if o.Spec.PodCIDR != "" {
			keys = append(keys, cidrKey(o.Spec.PodCIDR))
		}
	}
	return keys
}

// forCreate fills in what a new object needs allocated and returns the transaction
// parts that claim it.
func (a *allocator) forCreate(ctx context.Context, k *registry.Kind, obj runtime.Object) (storage.Txn, error) {
	if err := a.assign(ctx, obj, nil); err != nil {
		return storage.Txn{}, err
	}
	return a.txn(obj, nil), nil
}

// forUpdate allocates what an update adds and releases what it drops.
func (a *allocator) forUpdate(ctx context.Context, k *registry.Kind, obj, cur runtime.Object) (storage.Txn, error) {
	if err := a.assign(ctx, obj, cur); err != nil {
		return storage.Txn{}, err
	}
	return a.txn(obj, cur), nil
}

// forDelete releases what an object held.
func (a *allocator) forDelete(k *registry.Kind, cur runtime.Object) storage.Txn {
	var t storage.Txn
	for _, key := range claims(cur) {
		t.Ops = append(t.Ops, clientv3.OpDelete(key))
	}
	return t
}

// txn claims keys obj holds that cur did not, and releases those it dropped.
func (a *allocator) txn(obj, cur runtime.Object) storage.Txn {
	var t storage.Txn
	held := map[string]bool{}
	if cur != nil {
		for _, key := range claims(cur) {
			held[key] = true
		}
	}
	name := objectName(obj)
	for _, key := range claims(obj) {
		if held[key] {
			delete(held, key)
			continue
		}
		t.Cmps = append(t.Cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		t.Ops = append(t.Ops, clientv3.OpPut(key, name))
	}
	for key := range held {
		t.Ops = append(t.Ops, clientv3.OpDelete(key))
	}
	return t
}

// assign picks free values for what obj leaves unset, and checks that values it asks
// for are in range and free (cur's own allocations count as free for obj).
func (a *allocator) assign(ctx context.Context, obj, cur runtime.Object) error {
	switch o := obj.(type) {
	case *corev1.Service:
		return a.assignService(ctx, o, cur)
	case *corev1.Node:
		return a.assignNode(ctx, o, cur)
	}
	return nil
}

func (a *allocator) assignService(ctx context.Context, svc *corev1.Service, cur runtime.Object) error {
	owned := map[string]bool{}
	if cur != nil {
		for _, key := range claims(cur) {
			owned[key] = true
		}
	}
	var errs field.ErrorList
	spec := field.NewPath("spec")
	switch ip := svc.Spec.ClusterIP; {
	case svc.Spec.Type == corev1.ServiceTypeExternalName || ip == corev1.ClusterIPNone:
	case ip == "":
		picked, err := a.pickIP(ctx)
		if err != nil {
			return err
		}
		svc.Spec.ClusterIP = picked
	default:
		addr, err := netip.ParseAddr(ip)
		switch {
		case err != nil:
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), ip, "must be a valid IP address"))
		case !a.serviceCIDR.Contains(addr):
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), ip,
				fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", ip, ip, a.serviceCIDR)))
		case !owned[ipKey(ip)] && a.taken(ctx, ipKey(ip)):
			errs = append(errs, field.Invalid(spec.Child("clusterIPs").Index(0), ip,
				fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", ip)))
		}
	}
	if svc.Spec.ClusterIP != "" {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	needPorts := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	used := map[int32]bool{}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if !needPorts {
			p.NodePort = 0
			continue
		}
		path := spec.Child("ports").Index(i).Child("nodePort")
		switch {
		case p.NodePort == 0:
		case int(p.NodePort) < a.portLo || int(p.NodePort) > a.portHi:
			errs = append(errs, field.Invalid(path, p.NodePort, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", a.portLo, a.portHi)))
		case !used[p.NodePort] && !owned[portKey(p.NodePort)] && a.taken(ctx, portKey(p.NodePort)):
			errs = append(errs, field.Invalid(path, p.NodePort, "provided port is already allocated"))
		}
		used[p.NodePort] = true
	}
	if len(errs) > 0 {
		return apierrors.NewInvalid(svc.GroupVersionKind().GroupKind(), svc.Name, errs)
	}
	for i := range svc.Spec.Ports {
		if p := &svc.Spec.Ports[i]; needPorts && p.NodePort == 0 {
			port, err := a.pickPort(ctx, used)
			if err != nil {
				return err
			}
			p.NodePort, used[port] = port, true
		}
	}
	local := svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
	switch {
	case !local:
		svc.Spec.HealthCheckNodePort = 0
	case svc.Spec.HealthCheckNodePort == 0:
		port, err := a.pickPort(ctx, used)
		if err != nil {
			return err
		}
		svc.Spec.HealthCheckNodePort = port
	}
	return nil
}

func (a *allocator) assignNode(ctx context.Context, node *corev1.Node, cur runtime.Object) error {
	if node.Spec.PodCIDR == "" && cur != nil {
		node.Spec.PodCIDR, node.Spec.PodCIDRs = cur.(*corev1.Node).Spec.PodCIDR, cur.(*corev1.Node).Spec.PodCIDRs
	}
	if node.Spec.PodCIDR != "" {
		if node.Spec.PodCIDRs == nil {
			node.Spec.PodCIDRs = []string{node.Spec.PodCIDR}
		}
		return nil
	}
	resp, err := a.client.Get(ctx, allocPrefix+"podcidrs/", clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("list pod CIDRs: %w", err))
	}
	taken := map[string]bool{}
	for _, kv := range resp.Kvs {
		taken[string(kv.Key)] = true
	}
	// The first free /24 goes to the node, unless nodes register concurrently: the
	// transaction then fails for all but one, and a retry picks at random among the
	// next free ones, so that a burst of registrations does not all race for one.
	base := a.clusterCIDR.Addr().As4()
	n := 1 << (24 - a.clusterCIDR.Bits())
	var free []string
	spread := 1
	if ctx.Value(retryKey{}) != nil {
		spread = 64
	}
	for i := 0; i < n && len(free) < spread; i++ {
		b := base
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 + uint32(i)<<8
		cidr := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), 0}), 24).String()
		if !taken[cidrKey(cidr)] {
			free = append(free, cidr)
		}
	}
	if len(free) == 0 {
		return apierrors.NewInternalError(fmt.Errorf("no pod CIDR left in %s for node %s", a.clusterCIDR, node.Name))
	}
	cidr := free[rand.IntN(len(free))]
	node.Spec.PodCIDR, node.Spec.PodCIDRs = cidr, []string{cidr}
	return nil
}

// pickIP returns a free ClusterIP: random tries first, then a scan.
func (a *allocator) pickIP(ctx context.Context) (string, error) {
	base := a.serviceCIDR.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - a.serviceCIDR.Bits())
	ipAt := func(off uint32) string {
		v := start + off
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
	}
	// Offsets 0 (network), 1 (kept for the API server's own Service) and size-1 (broadcast) are never handed out.
	usable := size - 3
	for i := 0; i < 16; i++ {
		ip := ipAt(2 + rand.Uint32N(usable))
		if !a.taken(ctx, ipKey(ip)) {
			return ip, nil
		}
	}
	taken, err := a.keys(ctx, allocPrefix+"serviceips/")
	if err != nil {
		return "", err
	}
	for off := uint32(2); off < size-1; off++ {
		if ip := ipAt(off); !taken[ipKey(ip)] {
			return ip, nil
		}
	}
	return "", apierrors.NewInternalError(fmt.Errorf("no ClusterIP left in %s", a.serviceCIDR))
}

// pickPort returns a free NodePort not in used: random tries first, then a scan.
func (a *allocator) pickPort(ctx context.Context, used map[int32]bool) (int32, error) {
	n := a.portHi - a.portLo + 1
	for i := 0; i < 16; i++ {
		p := int32(a.portLo + rand.IntN(n))
		if !used[p] && !a.taken(ctx, portKey(p)) {
			return p, nil
		}
	}
	taken, err := a.keys(ctx, allocPrefix+"servicenodeports/")
	if err != nil {
		return 0, err
	}
	off := rand.IntN(n)
	for i := 0; i < n; i++ {
		p := int32(a.portLo + (off+i)%n)
		if !used[p] && !taken[portKey(p)] {
			return p, nil
		}
	}
	return 0, apierrors.NewInternalError(fmt.Errorf("no NodePort left in %d-%d", a.portLo, a.portHi))
}

// taken says whether an allocation key exists (errors count as taken: the
// transaction would tell, and a retry picks again).
func (a *allocator) taken(ctx context.Context, key string) bool {
	resp, err := a.client.Get(ctx, key, clientv3.WithCountOnly())
	return err != nil || resp.Count > 0
}

func (a *allocator) keys(ctx context.Context, prefix string) (map[string]bool, error) {
	resp, err := a.client.Get(ctx, prefix, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("list allocations: %w", err))
	}
	out := make(map[string]bool, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out[string(kv.Key)] = true
	}
	return out, nil
}

// objectName is "namespace/name", the value of an allocation key.
func objectName(obj runtime.Object) string {
	switch o := obj.(type) {
	case *corev1.Service:
		return o.Namespace + "/" + o.Name
	case *corev1.Node:
		return o.Name
	}
	return ""
}

// preserveAllocated keeps a Service's ClusterIP and NodePorts when an update leaves
// them out (as `kubectl replace` of a manifest does), and drops what a type change
// leaves without meaning (NodePorts, externalTrafficPolicy) when the client kept the
// old values, as kube-apiserver does.
func preserveAllocated(obj, cur runtime.Object) {
	svc, ok := obj.(*corev1.Service)
	old, ok2 := cur.(*corev1.Service)
	if !ok || !ok2 {
		return
	}
	if svc.Spec.ClusterIP == "" && svc.Spec.Type != corev1.ServiceTypeExternalName && old.Spec.Type != corev1.ServiceTypeExternalName {
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = old.Spec.ClusterIP, old.Spec.ClusterIPs
	}
	external := func(t corev1.ServiceType) bool {
		return t == corev1.ServiceTypeNodePort || t == corev1.ServiceTypeLoadBalancer
	}
	if external(old.Spec.Type) && !external(svc.Spec.Type) {
		for i := range svc.Spec.Ports {
			for _, op := range old.Spec.Ports {
				if svc.Spec.Ports[i].NodePort == op.NodePort {
					svc.Spec.Ports[i].NodePort = 0
				}
			}
		}
		if svc.Spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
			svc.Spec.ExternalTrafficPolicy = ""
		}
		if svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort {
			svc.Spec.HealthCheckNodePort = 0
		}
		return
	}
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if p.NodePort != 0 || !external(svc.Spec.Type) {
			continue
		}
		for _, op := range old.Spec.Ports {
			if op.NodePort != 0 && op.Port == p.Port && protocol(op.Protocol) == protocol(p.Protocol) {
				p.NodePort = op.NodePort
				break
			}
		}
	}
	if svc.Spec.HealthCheckNodePort == 0 {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// protocol is a port's protocol, TCP when unset (the default applied later).
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
