package kubelet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/internal/version"
	"github.com/berth-dev/berth/kubelet/network"
)

// leaseDuration is the Lease's duration; it is renewed every
// Options.StatusInterval.
const leaseDuration = 40 * time.Second

// maxPods is the pods capacity of every node.
const maxPods = 110

// runtimeCheckTimeout bounds the runtime health check of each heartbeat.
const runtimeCheckTimeout = 5 * time.Second

// register creates the Node (or takes over an existing one), posts its
// status and Lease, and waits until the server has given it a pod CIDR,
// which it returns.
func (k *Kubelet) register(ctx context.Context) (string, error) {
	nodes := k.client.CoreV1().Nodes()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: k.opts.NodeName, Labels: map[string]string{
		corev1.LabelHostname:   k.opts.NodeName,
		corev1.LabelOSStable:   goruntime.GOOS,
		corev1.LabelArchStable: goruntime.GOARCH,
	}}}
	for {
		_, err := nodes.Create(ctx, node, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			break
		}
		k.log.Warn("register node", "err", err)
		if !sleep(ctx, 2*time.Second) {
			return "", ctx.Err()
		}
	}
	// The Lease first: a node reported Ready has one.
	if err := k.renewLease(ctx); err != nil {
		k.log.Warn("renew lease", "err", err)
	}
	k.postNodeStatus(ctx)
	for {
		n, err := nodes.Get(ctx, k.opts.NodeName, metav1.GetOptions{})
		if err == nil && n.Spec.PodCIDR != "" {
			return n.Spec.PodCIDR, nil
		}
		if err != nil {
			k.log.Warn("get node", "err", err)
		} else {
			k.log.Info("waiting for the server to assign a pod CIDR")
		}
		if !sleep(ctx, time.Second) {
			return "", fmt.Errorf("node %s: no pod CIDR: %w", k.opts.NodeName, ctx.Err())
		}
	}
}

// heartbeat renews the Lease and posts the Node's status every
// StatusInterval until ctx ends.
func (k *Kubelet) heartbeat(ctx context.Context) {
	t := time.NewTicker(k.opts.StatusInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := k.renewLease(ctx); err != nil && ctx.Err() == nil {
			k.log.Warn("renew lease", "err", err)
		}
		k.postNodeStatus(ctx)
	}
}

// runtimeReady asks the runtime to answer a list; an error means the
// runtime is down.
func (k *Kubelet) runtimeReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, runtimeCheckTimeout)
	defer cancel()
	_, err := k.rt.ListContainers(ctx, map[string]string{"berth.dev/health-check": "none"})
	return err
}

// postNodeStatus writes capacity, addresses, node info and the Ready
// condition (KubeletReady, or KubeletNotReady when the runtime does not
// answer). Failures are logged: the next heartbeat tries again.
func (k *Kubelet) postNodeStatus(ctx context.Context) {
	rtErr := k.runtimeReady(ctx)
	node, err := k.client.CoreV1().Nodes().Get(ctx, k.opts.NodeName, metav1.GetOptions{})
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("get node", "err", err)
		}
		return
	}
	capacity, err := hostCapacity()
	if err != nil {
		k.log.Warn("node capacity", "err", err)
	}
	if k.endpoint != "" && node.Annotations[KubeletEndpointAnnotation] != k.endpoint {
		if node.Annotations == nil {
			node.Annotations = map[string]string{}
		}
		node.Annotations[KubeletEndpointAnnotation] = k.endpoint
	}
	node.Status.Capacity = capacity
	node.Status.Allocatable = allocatable(capacity, k.opts.Reserved)
	node.Status.Phase = corev1.NodeRunning
	addrs := []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: k.opts.NodeName}}
	if ip, err := internalIP(k.opts.HostNetNS); err != nil {
		k.log.Warn("node address", "err", err)
	} else {
		addrs = append([]corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}, addrs...)
		k.hostIP.Store(&ip)
	}
	node.Status.Addresses = addrs
	node.Status.NodeInfo = nodeInfo()
	now := metav1.NewTime(k.now())
	node.Status.Conditions = pressureConditions(node.Status.Conditions, now)
	node.Status.Conditions = readyCondition(node.Status.Conditions, rtErr, now)
	if _, err := k.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		k.log.Warn("post node status", "err", err)
	}
}

// readyCondition returns conds with the Ready condition replaced: True with
// KubeletReady, or False with KubeletNotReady saying the runtime is down.
// The transition time is kept while the status stays the same.
func readyCondition(conds []corev1.NodeCondition, rtErr error, now metav1.Time) []corev1.NodeCondition {
	c := corev1.NodeCondition{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		Message: "kubelet is posting ready status", LastHeartbeatTime: now, LastTransitionTime: now,
	}
	if rtErr != nil {
		c.Status, c.Reason = corev1.ConditionFalse, "KubeletNotReady"
		c.Message = "container runtime is down: " + rtErr.Error()
	}
	out := make([]corev1.NodeCondition, 0, len(conds)+1)
	for _, old := range conds {
		if old.Type != corev1.NodeReady {
			out = append(out, old)
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
	}
	return append(out, c)
}

// pressureConditions sets MemoryPressure, DiskPressure and PIDPressure to
// False (berth does not evict yet), keeping their transition times.
func pressureConditions(conds []corev1.NodeCondition, now metav1.Time) []corev1.NodeCondition {
	out := make([]corev1.NodeCondition, 0, len(conds)+3)
	for _, c := range []struct {
		t       corev1.NodeConditionType
		reason  string
		message string
	}{
		{corev1.NodeMemoryPressure, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"},
		{corev1.NodeDiskPressure, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
		{corev1.NodePIDPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
	} {
		nc := corev1.NodeCondition{Type: c.t, Status: corev1.ConditionFalse, Reason: c.reason, Message: c.message,
			LastHeartbeatTime: now, LastTransitionTime: now}
		for _, old := range conds {
			if old.Type == c.t && old.Status == nc.Status {
				nc.LastTransitionTime = old.LastTransitionTime
			}
		}
		out = append(out, nc)
	}
	for _, old := range conds {
		switch old.Type {
		case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
		default:
			out = append(out, old)
		}
	}
	return out
}

// hostCapacity is the machine's CPUs, memory (from /proc/meminfo) and 110
// pods.
func hostCapacity() (corev1.ResourceList, error) {
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:  *resource.NewQuantity(int64(goruntime.NumCPU()), resource.DecimalSI),
		corev1.ResourcePods: *resource.NewQuantity(maxPods, resource.DecimalSI),
	}
	mem, err := memTotal("/proc/meminfo")
	if err != nil {
		return capacity, err
	}
	capacity[corev1.ResourceMemory] = *resource.NewQuantity(mem, resource.BinarySI)
	return capacity, nil
}

// memTotal reads MemTotal, in bytes, from a meminfo file.
func memTotal(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read memory size: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("read memory size from %s: %w", path, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("read memory size: no MemTotal in %s", path)
}

// allocatable is capacity less reserved, never below zero.
func allocatable(capacity, reserved corev1.ResourceList) corev1.ResourceList {
	out := capacity.DeepCopy()
	for name, r := range reserved {
		q, ok := out[name]
		if !ok {
			continue
		}
		q.Sub(r)
		if q.Sign() < 0 {
			q = resource.Quantity{Format: q.Format}
		}
		out[name] = q
	}
	return out
}

// internalIP is the first IPv4 address of an interface that is up and not
// loopback (nor the pods' bridge), in netns (the process's own if empty).
func internalIP(netns string) (string, error) {
	var ip string
	find := func() error {
		ifaces, err := net.Interfaces()
		if err != nil {
			return err
		}
		for _, iface := range ifaces {
			if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 || iface.Name == network.DefaultBridgeName {
				continue
			}
			addrs, err := iface.Addrs()
			if err != nil {
				continue
			}
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
					ip = n.IP.String()
					return nil
				}
			}
		}
		return errors.New("no interface with an IPv4 address")
	}
	var err error
	if netns == "" {
		err = find()
	} else {
		err = network.Do(netns, find)
	}
	if err != nil {
		return "", fmt.Errorf("find the node's address: %w", err)
	}
	return ip, nil
}

// nodeInfo describes the machine and the kubelet.
func nodeInfo() corev1.NodeSystemInfo {
	info := corev1.NodeSystemInfo{
		OperatingSystem:         goruntime.GOOS,
		Architecture:            goruntime.GOARCH,
		KubeletVersion:          version.Version,
		ContainerRuntimeVersion: "containerd://",
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		info.KernelVersion = unix.ByteSliceToString(u.Release[:])
	}
	if id, err := os.ReadFile("/etc/machine-id"); err == nil {
		info.MachineID = strings.TrimSpace(string(id))
	}
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				info.OSImage = strings.Trim(v, `"`)
			}
		}
	}
	return info
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (k *Kubelet) renewLease(ctx context.Context) error {
	leases := k.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(k.now())
	secs := int32(leaseDuration / time.Second)
	name := k.opts.NodeName
	l, err := leases.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		l = &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: corev1.NamespaceNodeLease},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: &name, LeaseDurationSeconds: &secs, RenewTime: &now},
		}
		if node, err := k.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
			l.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		if _, err := leases.Create(ctx, l, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create lease of node %s: %w", name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease of node %s: %w", name, err)
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &name, &secs, &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew lease of node %s: %w", name, err)
	}
	return nil
}

// sleep waits d or until ctx ends, and says whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
