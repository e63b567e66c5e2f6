package cli

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/sync"
)

// planNode is a Ready node with cpu and memory.
func planNode(name, cpu, mem string, taints ...corev1.Taint) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}}}
	n.Spec.Taints = taints
	n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu),
		corev1.ResourceMemory: resource.MustParse(mem), corev1.ResourcePods: resource.MustParse("110")}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	return n
}

// planBoundPod is a pod bound to a node, requesting cpu.
func planBoundPod(name, node, cpu string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), Labels: labels},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}}}}},
	}
}

// planDeployment is a Deployment of app name with replicas pods of image asking
// for cpu (and memory, when not empty).
func planDeployment(t *testing.T, name string, replicas int, image, cpu, mem string) *unstructured.Unstructured {
	t.Helper()
	req := fmt.Sprintf("{cpu: %q}", cpu)
	if mem != "" {
		req = fmt.Sprintf("{cpu: %q, memory: %q}", cpu, mem)
	}
	return &unstructured.Unstructured{Object: planYAML(t, fmt.Sprintf(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: %s, namespace: default}
spec:
  replicas: %d
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec: {containers: [{name: c, image: %q, resources: {requests: %s}}]}`, name, replicas, name, name, image, req))}
}

// TestPlanFitCheck: the pods a plan makes, placed one by one on the nodes with
// the scheduler's filters.
func TestPlanFitCheck(t *testing.T) {
	deploy := registry.Deployments()
	id := func(name string) sync.ID {
		return sync.ID{Group: "apps", Kind: "Deployment", Namespace: "default", Name: name}
	}
	create := func(u *unstructured.Unstructured) sync.Action {
		return sync.Action{Type: sync.Create, ID: id(u.GetName()), Kind: deploy, Desired: u, File: "web.yaml", Line: 1}
	}
	threeNodes := []*corev1.Node{planNode("node-0", "2", "4Gi"), planNode("node-1", "2", "4Gi"), planNode("node-2", "1", "4Gi")}
	busy := []*corev1.Pod{planBoundPod("b0", "node-0", "500m", nil), planBoundPod("b1", "node-1", "800m", nil), planBoundPod("b2", "node-2", "200m", nil)}
	webPods := []*corev1.Pod{planBoundPod("w0", "node-0", "1", map[string]string{"app": "web"}), planBoundPod("w1", "node-1", "1", map[string]string{"app": "web"})}
	for _, tc := range []struct {
		name    string
		actions []sync.Action
		changes map[sync.ID][]PlanFieldChange
		nodes   []*corev1.Node
		pods    []*corev1.Pod
		want    []string
	}{
		{
			name:    "none fits",
			actions: []sync.Action{create(planDeployment(t, "web", 3, "web:1", "2", ""))},
			nodes:   threeNodes, pods: busy,
			want: []string{"apps/Deployment default/web: 3 of 3 pods would not fit: each needs 2 CPU; nodes have 1.5, 1.2, 0.8 CPU free (0/3 nodes are available: 3 Insufficient cpu.)"},
		},
		{
			name:    "two fit, the next two see what the first took",
			actions: []sync.Action{create(planDeployment(t, "web", 4, "web:1", "1", "1Gi"))},
			nodes:   threeNodes, pods: busy,
			want: []string{"apps/Deployment default/web: 2 of 4 pods would not fit: each needs 1 CPU and 1Gi memory; nodes have 0.8, 0.5, 0.2 CPU and 4Gi, 3Gi, 3Gi memory free (0/3 nodes are available: 3 Insufficient cpu.)"},
		},
		{
			name:    "all fit",
			actions: []sync.Action{create(planDeployment(t, "web", 3, "web:1", "700m", ""))},
			nodes:   threeNodes, pods: busy,
		},
		{
			name: "a scale-up places only the new pods",
			actions: []sync.Action{{Type: sync.Update, ID: id("web"), Kind: deploy,
				Desired: planDeployment(t, "web", 3, "web:1", "1", ""), Live: planDeployment(t, "web", 2, "web:1", "1", "")}},
			changes: map[sync.ID][]PlanFieldChange{id("web"): {{Path: "spec.replicas"}}},
			nodes:   []*corev1.Node{planNode("node-0", "1500m", "4Gi"), planNode("node-1", "1500m", "4Gi")}, pods: webPods,
			want: []string{"apps/Deployment default/web: the pod would not fit: it needs 1 CPU; nodes have 0.5, 0.5 CPU free (0/2 nodes are available: 2 Insufficient cpu.)"},
		},
		{
			name: "a new template replaces the old pods",
			actions: []sync.Action{{Type: sync.Update, ID: id("web"), Kind: deploy,
				Desired: planDeployment(t, "web", 2, "web:2", "1", ""), Live: planDeployment(t, "web", 2, "web:1", "1", "")}},
			changes: map[sync.ID][]PlanFieldChange{id("web"): {{Path: "spec.template.spec.containers[name=c].image"}}},
			nodes:   []*corev1.Node{planNode("node-0", "1500m", "4Gi"), planNode("node-1", "1500m", "4Gi")}, pods: webPods,
		},
		{
			name: "a prune frees its pods' room",
			actions: []sync.Action{
				create(planDeployment(t, "api", 2, "api:1", "1", "")),
				{Type: sync.Delete, ID: id("web"), Kind: deploy, Live: planDeployment(t, "web", 2, "web:1", "1", "")},
			},
			nodes: []*corev1.Node{planNode("node-0", "1500m", "4Gi"), planNode("node-1", "1500m", "4Gi")}, pods: webPods,
		},
		{
			name:    "a taint",
			actions: []sync.Action{create(planDeployment(t, "web", 1, "web:1", "100m", ""))},
			nodes:   []*corev1.Node{planNode("node-0", "2", "4Gi", corev1.Taint{Key: "gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule})},
			want:    []string{"apps/Deployment default/web: the pod would not fit: it needs 0.1 CPU (0/1 nodes are available: 1 node(s) had untolerated taint {gpu: true}.)"},
		},
		{
			name:    "no nodes",
			actions: []sync.Action{create(planDeployment(t, "web", 2, "web:1", "100m", ""))},
			want:    []string{"apps/Deployment default/web: 2 of 2 pods would not fit: each needs 0.1 CPU (0/0 nodes are available: no nodes registered.)"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fits, err := planFitCheck(tc.actions, tc.changes, tc.nodes, tc.pods)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fits {
				got = append(got, f.Object+": "+f.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
