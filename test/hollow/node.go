package hollow

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Outcome is what becomes of a pod on a hollow node.
type Outcome struct {
	// Phase is Running (the default), Succeeded or Failed.
	Phase corev1.PodPhase
	// ExitCode of the containers when the pod finishes (Failed defaults to 1).
	ExitCode int32
	// NotReady keeps a Running pod's Ready condition False.
	NotReady bool
	// After delays the outcome: the pod is reported Running first (not ready), and
	// gets the outcome once After has passed.
	After time.Duration
}

// Options describes one hollow node.
type Options struct {
	Name string
	// Labels are added to kubernetes.io/hostname, kubernetes.io/os and kubernetes.io/arch.
	Labels map[string]string
	Taints []corev1.Taint
	// Capacity defaults to 4 cpu, 16Gi of memory and 110 pods; allocatable equals it.
	Capacity corev1.ResourceList
	// Unschedulable cordons the node.
	Unschedulable bool
	// LeaseDuration is the Lease's leaseDurationSeconds (default 40s); the Lease is
	// renewed every RenewInterval (default 10s), as the kubelet does.
	LeaseDuration, RenewInterval time.Duration
	// Outcome decides each pod's fate; nil reads it from the pod's annotations
	// (AnnotationOutcome): without them a pod runs forever, Ready.
	Outcome func(*corev1.Pod) Outcome
}

// Node is a hollow node.
type Node struct {
	opts   Options
	client kubernetes.Interface
	// busy is read-held by each write the node makes (heartbeat, pod status,
	// finishing a deletion), so that Stop can wait for those under way.
	busy sync.RWMutex

	mu      sync.Mutex // guards the fields below
	stopped bool
	podCIDR netip.Prefix
	nextIP  uint32
	ips     map[string]string // pod UID → IP
	used    map[string]bool   // IPs in ips
	resume  chan struct{}     // closed by Resume
}

// Name is the node's name.
func (n *Node) Name() string { return n.opts.Name }

// Stop silences the node, as a lost kubelet: no Lease renewals, no status, no pod
// updates, until Resume. It returns once the writes under way are done, so none
// lands after it.
func (n *Node) Stop() {
	n.mu.Lock()
	if !n.stopped {
		n.stopped, n.resume = true, make(chan struct{})
	}
	n.mu.Unlock()
	// Taking busy waits for the writes under way; later ones see stopped.
	n.busy.Lock()
	//lint:ignore SA2001 the lock is taken only to wait for its readers.
	n.busy.Unlock()

}

// Resume brings a stopped node back: it renews its Lease and reports Ready at once,
// and catches up with its pods.
func (n *Node) Resume() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.stopped {
		n.stopped = false
		close(n.resume)
	}
}

// Stopped says whether the node is silent.
func (n *Node) Stopped() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopped
}

func (o *Options) defaults() {
	if o.Capacity == nil {
		o.Capacity = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("4"),
			corev1.ResourceMemory: resource.MustParse("16Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 40 * time.Second
	}
	if o.RenewInterval <= 0 {
		o.RenewInterval = 10 * time.Second
	}
}

// register creates (or takes over) the Node object and reports it Ready.
func (n *Node) register(ctx context.Context) error {
	labels := map[string]string{
		corev1.LabelHostname: n.opts.Name, corev1.LabelOSStable: "linux", corev1.LabelArchStable: "amd64",
		"node.berth.dev/hollow": "true",
	}
	for k, v := range n.opts.Labels {
		labels[k] = v
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: n.opts.Name, Labels: labels},
		Spec:       corev1.NodeSpec{Taints: n.opts.Taints, Unschedulable: n.opts.Unschedulable},
	}
	created, err := n.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = n.client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{})
	}
	if err != nil {
		return fmt.Errorf("register node %s: %w", n.opts.Name, err)
	}
	if created.Spec.PodCIDR != "" {
		if p, err := netip.ParsePrefix(created.Spec.PodCIDR); err == nil {
			n.mu.Lock()
			n.podCIDR = p
			n.mu.Unlock()
		}
	}
	if err := n.postStatus(ctx, created); err != nil {
		return err
	}
	return n.renewLease(ctx)
}

// postStatus writes the node's capacity, addresses and a Ready condition.
func (n *Node) postStatus(ctx context.Context, node *corev1.Node) error {
	now := metav1.Now()
	node = node.DeepCopy()
	node.Status.Capacity = n.opts.Capacity
	node.Status.Allocatable = n.opts.Capacity
	node.Status.Phase = corev1.NodeRunning
	node.Status.Addresses = []corev1.NodeAddress{
		{Type: corev1.NodeHostName, Address: n.opts.Name},
		{Type: corev1.NodeInternalIP, Address: n.hostIP()},
	}
	node.Status.NodeInfo = corev1.NodeSystemInfo{
		OperatingSystem: "linux", Architecture: "amd64", KubeletVersion: "hollow", ContainerRuntimeVersion: "hollow://0",
	}
	ready := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "hollow kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready.LastTransitionTime = c.LastTransitionTime
		}
	}
	node.Status.Conditions = []corev1.NodeCondition{ready}
	if _, err := n.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("node %s status: %w", n.opts.Name, err)
	}
	return nil
}

// hostIP is a made-up node address in 192.0.2.0/24 (TEST-NET-1), from the name.
func (n *Node) hostIP() string {
	var h uint32
	for _, c := range n.opts.Name {
		h = h*31 + uint32(c)
	}
	return fmt.Sprintf("192.0.2.%d", 1+h%254)
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (n *Node) renewLease(ctx context.Context) error {
	leases := n.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	secs := int32(n.opts.LeaseDuration / time.Second)
	l, err := leases.Get(ctx, n.opts.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.opts.Name, Namespace: corev1.NamespaceNodeLease},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &n.opts.Name, LeaseDurationSeconds: &secs, RenewTime: &now},
		}
		if node, err := n.client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{}); err == nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &n.opts.Name, &secs, &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the Lease every RenewInterval, and re-posts Ready status when the
// node lifecycle controller marked the node otherwise, until ctx ends.
func (n *Node) heartbeat(ctx context.Context) {
	t := time.NewTicker(n.opts.RenewInterval)
	defer t.Stop()
	for {
		n.mu.Lock()
		stopped, resume := n.stopped, n.resume
		n.mu.Unlock()
		if stopped {
			select {
			case <-ctx.Done():
				return
			case <-resume:
			}
		} else {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		n.beat(ctx)
	}
}

// beat renews the Lease and re-posts Ready status if needed, unless stopped.
func (n *Node) beat(ctx context.Context) {
	n.busy.RLock()
	defer n.busy.RUnlock()
	if n.Stopped() {
		return
	}
	_ = n.renewLease(ctx)
	if node, err := n.client.CoreV1().Nodes().Get(ctx, n.opts.Name, metav1.GetOptions{}); err == nil && !nodeReady(node) {
		_ = n.postStatus(ctx, node)
	}
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podIP gives a pod an address from the node's pod CIDR, the same one each time,
// and never one another live pod of the node holds.
func (n *Node) podIP(uid string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.ips[uid]; ok {
		return ip
	}
	if !n.podCIDR.IsValid() || !n.podCIDR.Addr().Is4() || n.podCIDR.Bits() > 30 {
		return ""
	}
	base := n.podCIDR.Masked().Addr().As4()
	size := uint32(1) << (32 - n.podCIDR.Bits())
	first := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	for range size - 3 { // offsets 2 .. size-2: not the network, the gateway (.1) or broadcast
		n.nextIP++
		v := first + 2 + n.nextIP%(size-3)
		ip := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
		if !n.used[ip] {
			n.ips[uid], n.used[ip] = ip, true
			return ip
		}
	}
	return "" // every address is taken
}

// forget drops a deleted pod's address.
func (n *Node) forget(uid string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.used, n.ips[uid])
	delete(n.ips, uid)
}
