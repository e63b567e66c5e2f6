package scheduler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestPodResources(t *testing.T) {
	for _, tc := range []struct {
		name         string
		pod          *corev1.Pod
		req, nonZero Resources
	}{
		{name: "containers summed", pod: podOf("p", "250m", "1Gi", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, p.Spec.Containers[0])
		}), req: Resources{MilliCPU: 500, Memory: 2 << 30, Pods: 1}, nonZero: Resources{MilliCPU: 500, Memory: 2 << 30, Pods: 1}},
		{name: "a larger init container wins", pod: podOf("p", "250m", "1Gi", func(p *corev1.Pod) {
			c := p.Spec.Containers[0]
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: mustQ("2")}
			p.Spec.InitContainers = []corev1.Container{c}
		}), req: Resources{MilliCPU: 2000, Memory: 1 << 30, Pods: 1}, nonZero: Resources{MilliCPU: 2000, Memory: 1 << 30, Pods: 1}},
		{name: "no requests: defaults for scoring only", pod: podOf("p", "1", "1Gi", func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Requests = nil
		}), req: Resources{Pods: 1}, nonZero: Resources{MilliCPU: 100, Memory: 200 << 20, Pods: 1}},
		{name: "overhead added", pod: podOf("p", "1", "1Gi", func(p *corev1.Pod) {
			p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: mustQ("100m")}
		}), req: Resources{MilliCPU: 1100, Memory: 1 << 30, Pods: 1}, nonZero: Resources{MilliCPU: 1100, Memory: 1 << 30, Pods: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, nz := podResources(tc.pod)
			if diff := cmp.Diff(tc.req, req); diff != "" {
				t.Errorf("req (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.nonZero, nz); diff != "" {
				t.Errorf("nonZero (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNodeInfoAddRemove: removing every pod added leaves the NodeInfo as it was.
func TestNodeInfoAddRemove(t *testing.T) {
	ni := newNodeInfo(node("a", "4", "8Gi"))
	yes := true
	owned := func(p *corev1.Pod) {
		p.UID = types.UID(p.Name)
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", UID: "rs-1", Controller: &yes}}
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
	}
	x, y := podOf("x", "1", "1Gi", owned), podOf("y", "500m", "2Gi", owned)
	ni.Add(x)
	ni.Add(y)
	if want := (Resources{MilliCPU: 1500, Memory: 3 << 30, Pods: 2}); ni.Requested != want {
		t.Errorf("Requested = %+v, want %+v", ni.Requested, want)
	}
	if ni.owners["rs-1"] != 2 || ni.ports[hostPort{corev1.ProtocolTCP, anyIP, 8080}] != 2 {
		t.Errorf("owners %v, ports %v; want 2 of each", ni.owners, ni.ports)
	}
	if !ni.Remove(x) || !ni.Remove(y) || ni.Remove(y) {
		t.Fatal("Remove: want true, true, false")
	}
	if ni.Requested != (Resources{}) || ni.nonZero != (Resources{}) || len(ni.Pods) != 0 || len(ni.owners) != 0 || len(ni.ports) != 0 || len(ni.portUses) != 0 {
		t.Errorf("after removing all: %+v", ni)
	}
}

func TestPortFree(t *testing.T) {
	port := func(ip string) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, HostIP: ip}}
		}
	}
	for _, tc := range []struct {
		name, used, want string
		free             bool
	}{
		{"same specific IP", "10.0.0.1", "10.0.0.1", false},
		{"other specific IP", "10.0.0.1", "10.0.0.2", true},
		{"every address wanted, one used", "10.0.0.1", "", false},
		{"one wanted, every address used", "", "10.0.0.1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ni := newNodeInfo(node("a", "4", "8Gi"))
			ni.Add(podOf("x", "1", "1Gi", port(tc.used)))
			pi := newPodInfo(podOf("p", "1", "1Gi", port(tc.want)))
			if got := ni.portFree(pi.ports[0]); got != tc.free {
				t.Errorf("portFree = %v, want %v", got, tc.free)
			}
		})
	}
}
