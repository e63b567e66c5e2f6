package cli

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// describeNode prints a Node's page: roles and labels, taints, conditions with
// their last heartbeat, addresses, capacity and allocatable, system info.
func describeNode(d *descWriter, u *unstructured.Unstructured) error {
	n, err := fromUnstructured[corev1.Node](u)
	if err != nil {
		return err
	}
	d.meta(n.ObjectMeta, false)
	var taints []string
	for _, t := range n.Spec.Taints {
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		taints = append(taints, s+":"+string(t.Effect))
	}
	d.line(0, "Taints", orNone(strings.Join(taints, ", ")))
	d.line(0, "Unschedulable", n.Spec.Unschedulable)
	var conds [][]string
	for _, c := range n.Status.Conditions {
		conds = append(conds, []string{string(c.Type), string(c.Status), Age(c.LastHeartbeatTime.Time, d.now), c.Reason, c.Message})
	}
	d.table(0, "Conditions", []string{"Type", "Status", "LastHeartbeat", "Reason", "Message"}, conds)
	if len(n.Status.Addresses) > 0 {
		d.text(0, "Addresses:")
		for _, a := range n.Status.Addresses {
			d.line(1, string(a.Type), a.Address)
		}
	}
	for _, l := range []struct {
		title string
		list  corev1.ResourceList
	}{{"Capacity", n.Status.Capacity}, {"Allocatable", n.Status.Allocatable}} {
		if len(l.list) == 0 {
			continue
		}
		d.text(0, "%s:", l.title)
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourcePods} {
			if q, ok := l.list[r]; ok {
				d.line(1, string(r), q.String())
			}
		}
	}
	if i := n.Status.NodeInfo; i != (corev1.NodeSystemInfo{}) {
		d.text(0, "System Info:")
		for _, kv := range [][2]string{
			{"Kernel Version", i.KernelVersion}, {"OS Image", i.OSImage}, {"Operating System", i.OperatingSystem},
			{"Architecture", i.Architecture}, {"Container Runtime Version", i.ContainerRuntimeVersion},
			{"Kubelet Version", i.KubeletVersion},
		} {
			if kv[1] != "" {
				d.line(1, kv[0], kv[1])
			}
		}
	}
	if n.Spec.PodCIDR != "" {
		d.line(0, "PodCIDR", n.Spec.PodCIDR)
	}
	nodePods(d, n, d.rel.NodePods)
	return nil
}

// nodePods prints the node's unfinished pods with their requests, and the sum
// of the requests against what the node can allocate, as kubectl does.
func nodePods(d *descWriter, n *corev1.Node, pods []corev1.Pod) {
	var rows [][]string
	total := corev1.ResourceList{}
	alloc := n.Status.Allocatable
	pct := func(q resource.Quantity, name corev1.ResourceName) string {
		a := alloc[name]
		if a.MilliValue() == 0 {
			return q.String()
		}
		return fmt.Sprintf("%s (%d%%)", q.String(), q.MilliValue()*100/a.MilliValue())
	}
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		req := podRequests(p)
		addList(total, req)
		rows = append(rows, []string{p.Namespace, p.Name, pct(req[corev1.ResourceCPU], corev1.ResourceCPU),
			pct(req[corev1.ResourceMemory], corev1.ResourceMemory), Age(p.CreationTimestamp.Time, d.now)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0]+"/"+rows[i][1] < rows[j][0]+"/"+rows[j][1] })
	d.line(0, "Non-terminated Pods", fmt.Sprintf("(%d in total)", len(rows)))
	if len(rows) > 0 {
		d.rows(1, []string{"Namespace", "Name", "CPU Requests", "Memory Requests", "Age"}, rows)
	}
	d.text(0, "Allocated resources:")
	d.rows(1, []string{"Resource", "Requests"}, [][]string{
		{"cpu", pct(total[corev1.ResourceCPU], corev1.ResourceCPU)},
		{"memory", pct(total[corev1.ResourceMemory], corev1.ResourceMemory)},
	})
}

// describeService prints a Service's page: type, selector, addresses and ports.
func describeService(d *descWriter, u *unstructured.Unstructured) error {
	s, err := fromUnstructured[corev1.Service](u)
	if err != nil {
		return err
	}
	d.meta(s.ObjectMeta, true)
	d.mapLines(0, "Selector", s.Spec.Selector)
	d.line(0, "Type", s.Spec.Type)
	d.line(0, "IP", orNone(s.Spec.ClusterIP))
	if len(s.Spec.ExternalIPs) > 0 {
		d.line(0, "External IPs", strings.Join(s.Spec.ExternalIPs, ","))
	}
	var lb []string
	for _, in := range s.Status.LoadBalancer.Ingress {
		lb = append(lb, in.IP+in.Hostname)
	}
	if len(lb) > 0 {
		d.line(0, "LoadBalancer Ingress", strings.Join(lb, ", "))
	}
	for _, p := range s.Spec.Ports {
		name := p.Name
		if name == "" {
			name = "<unset>"
		}
		d.line(0, "Port", fmt.Sprintf("%s\t%d/%s", name, p.Port, p.Protocol))
		d.line(0, "TargetPort", fmt.Sprintf("%s/%s", p.TargetPort.String(), p.Protocol))
		if p.NodePort != 0 {
			d.line(0, "NodePort", fmt.Sprintf("%s\t%d/%s", name, p.NodePort, p.Protocol))
		}
	}
	d.line(0, "Session Affinity", orNone(string(s.Spec.SessionAffinity)))
	return nil
}
