package scheduler

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func node(name, cpu, mem string, mutate ...func(*corev1.Node)) *corev1.Node {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem), corev1.ResourcePods: resource.MustParse("110")},
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func podOf(name, cpu, mem string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}}}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }

func on(node string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.NodeName = node } }

func TestPlace(t *testing.T) {
	tainted := func(n *corev1.Node) {
		n.Spec.Taints = []corev1.Taint{{Key: "gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	}
	notReady := func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }
	for _, tc := range []struct {
		name      string
		nodes     []*corev1.Node
		bound     []*corev1.Pod
		pod       *corev1.Pod
		want, why string
	}{
		{name: "least allocated wins",
			nodes: []*corev1.Node{node("a", "2", "4Gi"), node("b", "2", "4Gi")},
			bound: []*corev1.Pod{podOf("x", "1", "1Gi", on("a"))},
			pod:   podOf("p", "500m", "512Mi"), want: "b"},
		{name: "no node fits: every reason counted",
			nodes: []*corev1.Node{node("a", "1", "4Gi"), node("b", "1", "4Gi"), node("c", "8", "4Gi", tainted), node("d", "8", "4Gi", notReady)},
			pod:   podOf("p", "2", "1Gi"),
			why:   "0/4 nodes are available: 1 node(s) had untolerated taint {gpu: true}, 1 node(s) were not ready, 2 Insufficient cpu."},
		{name: "a toleration lets the pod on the tainted node",
			nodes: []*corev1.Node{node("a", "1", "4Gi"), node("c", "8", "4Gi", tainted)},
			pod: podOf("p", "2", "1Gi", func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}}
			}),
			want: "c"},
		{name: "nodeSelector",
			nodes: []*corev1.Node{node("a", "8", "8Gi"), node("b", "1", "1Gi", func(n *corev1.Node) { n.Labels["disk"] = "ssd" })},
			pod:   podOf("p", "100m", "100Mi", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"disk": "ssd"} }),
			want:  "b"},
		{name: "required node affinity that nothing matches",
			nodes: []*corev1.Node{node("a", "8", "8Gi")},
			pod: podOf("p", "100m", "100Mi", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"z1"}}}}}}}}
			}),
			why: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
		{name: "host port taken",
			nodes: []*corev1.Node{node("a", "8", "8Gi")},
			bound: []*corev1.Pod{podOf("x", "1", "1Gi", on("a"), func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			})},
			pod: podOf("p", "1", "1Gi", func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
			}),
			why: "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."},
		{name: "required anti-affinity on hostname",
			nodes: []*corev1.Node{node("a", "8", "8Gi"), node("b", "1", "1Gi")},
			bound: []*corev1.Pod{podOf("x", "100m", "100Mi", on("a"))},
			pod: podOf("p", "100m", "100Mi", func(p *corev1.Pod) {
				p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
					LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, TopologyKey: corev1.LabelHostname}}}}
			}),
			want: "b"},
		{name: "unschedulable node", nodes: []*corev1.Node{node("a", "8", "8Gi", func(n *corev1.Node) { n.Spec.Unschedulable = true })},
			pod: podOf("p", "1", "1Gi"), why: "0/1 nodes are available: 1 node(s) were unschedulable."},
		{name: "no nodes", pod: podOf("p", "1", "1Gi"), why: "0/0 nodes are available: no nodes registered."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Place(tc.pod, NewSnapshot(tc.nodes, tc.bound))
			if got != tc.want || why != tc.why {
				t.Errorf("Place = %q, %q; want %q, %q", got, why, tc.want, tc.why)
			}
		})
	}
}

// TestSpreadReplicas: replicas of one ReplicaSet go to different nodes while they can.
func TestSpreadReplicas(t *testing.T) {
	nodes := []*corev1.Node{node("a", "8", "8Gi"), node("b", "8", "8Gi"), node("c", "8", "8Gi")}
	snap := NewSnapshot(nodes, nil)
	yes := true
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: types.UID("rs-1"), Controller: &yes}
	placed := map[string]int{}
	for i := 0; i < 6; i++ {
		p := podOf(fmt.Sprintf("web-%d", i), "100m", "64Mi", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{owner} })
		n, why := Place(p, snap)
		if n == "" {
			t.Fatal(why)
		}
		p.Spec.NodeName = n
		snap.Nodes[n].Add(p)
		placed[n]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if placed[n] != 2 {
			t.Errorf("replicas per node %v, want 2 on each", placed)
		}
	}
}
