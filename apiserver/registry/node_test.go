package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validNode is a ready control-plane node as a kubelet registers it.
func validNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24",
			Taints: []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Capacity:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
			NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.34.2", OSImage: "Debian GNU/Linux 12", KernelVersion: "6.1.0", ContainerRuntimeVersion: "containerd://2.0.0"},
		},
	}
}

func TestNodeValidation(t *testing.T) {
	k := Nodes()
	n := defaulted(k, validNode())
	if d := diff([]string{"10.244.0.0/24"}, n.Spec.PodCIDRs); d != "" {
		t.Errorf("podCIDRs (-want +got):\n%s", d)
	}
	checkPaths(t, k.ValidateCreate(n))

	bad := deepCopy(n)
	bad.Spec.PodCIDRs = []string{"10.244.0.0/33", "10.245.0.0/16"}
	bad.Spec.PodCIDR = "10.244.0.0/33"
	bad.Spec.Taints = append(bad.Spec.Taints,
		corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
		corev1.Taint{Key: "bad key", Effect: "Never"},
	)
	checkPaths(t, k.ValidateCreate(bad),
		"spec.podCIDRs[0]: Invalid value",
		"spec.taints[1]: Duplicate value",
		"spec.taints[2].key: Invalid value",
		"spec.taints[2].effect: Unsupported value",
	)

	// The kubelet's status survives create.
	if k.PrepareForCreate != nil {
		k.PrepareForCreate(n)
	}
	if len(n.Status.Conditions) != 1 {
		t.Errorf("status conditions lost on create")
	}
}

func TestNodeUpdate(t *testing.T) {
	k := Nodes()
	old := defaulted(k, validNode())
	moved := deepCopy(old)
	moved.Spec.PodCIDR, moved.Spec.PodCIDRs = "10.244.1.0/24", []string{"10.244.1.0/24"}
	moved.Spec.Unschedulable = true
	checkPaths(t, k.ValidateUpdateOf(moved, old), "spec.podCIDRs: Forbidden")

	fresh := deepCopy(old)
	fresh.Spec.PodCIDR, fresh.Spec.PodCIDRs = "", nil
	set := deepCopy(old)
	checkPaths(t, k.ValidateUpdateOf(set, fresh))
}

func TestNodeRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	n := validNode()
	n.CreationTimestamp = metav1.NewTime(now.Add(-20 * 24 * time.Hour))
	n.Spec.Unschedulable = true
	want := []interface{}{"Ready,SchedulingDisabled", "control-plane", "20d", "v1.34.2", "192.168.1.10", "<none>",
		"Debian GNU/Linux 12", "6.1.0", "containerd://2.0.0"}
	if d := diff(want, nodeRow(n, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	n.Status = corev1.NodeStatus{}
	n.Spec.Unschedulable = false
	n.Labels = nil
	want = []interface{}{"Unknown", "<none>", "20d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}
	if d := diff(want, nodeRow(n, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	if got := Nodes().ObjectFields(n, n.Name, "")["spec.unschedulable"]; got != "false" {
		t.Errorf("spec.unschedulable = %q", got)
	}
}
