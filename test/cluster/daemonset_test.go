package cluster

import (
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/test/hollow"
)

// daemonPods maps node name to the DaemonSet's live pods there (not being deleted).
func (c *cluster) daemonPods(t *testing.T, ns string) map[string][]corev1.Pod {
	t.Helper()
	out := map[string][]corev1.Pod{}
	for _, p := range c.podsOf(t, ns, "app=agent") {
		if p.DeletionTimestamp == nil {
			out[p.Spec.NodeName] = append(out[p.Spec.NodeName], p)
		}
	}
	return out
}

// waitDaemonOn waits until the DaemonSet runs exactly one ready pod on each of the
// nodes and none elsewhere, all of the template hash if one is given.
func (c *cluster) waitDaemonOn(t *testing.T, ns, what string, nodes []string, hash string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range nodes {
		want[n] = true
	}
	eventually(t, 60*time.Second, what, func() (bool, string) {
		byNode := c.daemonPods(t, ns)
		var got []string
		ok := len(byNode) == len(want)
		for node, pods := range byNode {
			got = append(got, fmt.Sprintf("%s:%d", node, len(pods)))
			ok = ok && want[node] && len(pods) == 1 && podReady(&pods[0]) &&
				(hash == "" || pods[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey] == hash)
		}
		sort.Strings(got)
		return ok, fmt.Sprintf("pods by node %v", got)
	})
}

func TestDaemonSetPlacementAndRollingUpdate(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	worker := map[string]string{"role": "worker"}
	c.addNode(t, hollow.Options{Name: "worker-0", Labels: worker})
	c.addNode(t, hollow.Options{Name: "worker-1", Labels: worker})
	c.addNode(t, hollow.Options{Name: "other"})
	c.addNode(t, hollow.Options{Name: "tainted", Labels: worker, Taints: []corev1.Taint{{Key: "dedicated", Value: "db", Effect: corev1.TaintEffectNoSchedule}}})
	ns := c.namespace(t)

	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec: corev1.PodSpec{
					NodeSelector: worker,
					Containers:   []corev1.Container{{Name: "agent", Image: "agent:1"}},
				},
			},
		},
	}
	created, err := c.Client.AppsV1().DaemonSets(ns).Create(testCtx(t), ds, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.waitDaemonOn(t, ns, "a pod on each worker node", []string{"worker-0", "worker-1"}, "")
	for _, pods := range c.daemonPods(t, ns) {
		p := pods[0]
		if a := p.Spec.Affinity; a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil ||
			a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchFields[0].Values[0] != p.Spec.NodeName {
			t.Errorf("pod %s on %s: affinity %+v, want metadata.name In [its node]", p.Name, p.Spec.NodeName, p.Spec.Affinity)
		}
		tolerates := false
		for _, tol := range p.Spec.Tolerations {
			tolerates = tolerates || (tol.Key == corev1.TaintNodeUnreachable && tol.Effect == corev1.TaintEffectNoExecute)
		}
		if !tolerates {
			t.Errorf("pod %s: tolerations %+v, want the daemon ones (unreachable:NoExecute)", p.Name, p.Spec.Tolerations)
		}
	}
	eventually(t, 30*time.Second, "the DaemonSet status", func() (bool, string) {
		d, err := c.Client.AppsV1().DaemonSets(ns).Get(testCtx(t), "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := d.Status
		return s.DesiredNumberScheduled == 2 && s.CurrentNumberScheduled == 2 && s.NumberReady == 2 &&
			s.NumberAvailable == 2 && s.UpdatedNumberScheduled == 2 && s.NumberMisscheduled == 0 &&
			s.ObservedGeneration == created.Generation, fmt.Sprintf("%+v", s)
	})

	// A node that joins later gets its pod.
	c.addNode(t, hollow.Options{Name: "worker-2", Labels: worker})
	c.waitDaemonOn(t, ns, "a pod on the new worker node", []string{"worker-0", "worker-1", "worker-2"}, "")

	// A node that stops matching loses its pod.
	eventually(t, 30*time.Second, "relabel worker-1", func() (bool, string) {
		n, err := c.Client.CoreV1().Nodes().Get(testCtx(t), "worker-1", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		delete(n.Labels, "role")
		_, err = c.Client.CoreV1().Nodes().Update(testCtx(t), n, metav1.UpdateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	c.waitDaemonOn(t, ns, "no pod left on worker-1", []string{"worker-0", "worker-2"}, "")

	// A template change rolls the pods, one node at a time (maxUnavailable 1).
	old := c.daemonPods(t, ns)["worker-0"][0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]
	w, err := c.Client.CoreV1().Pods(ns).Watch(testCtx(t), metav1.ListOptions{LabelSelector: "app=agent"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	minReady := 2
	go func() {
		pods := map[types.UID]*corev1.Pod{}
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(pods, p.UID)
			} else {
				pods[p.UID] = p
			}
			nodes := map[string]bool{}
			for _, p := range pods {
				if p.DeletionTimestamp == nil && podReady(p) {
					nodes[p.Spec.NodeName] = true
				}
			}
			mu.Lock()
			minReady = min(minReady, len(nodes))
			mu.Unlock()
		}
	}()
	eventually(t, 30*time.Second, "update the template", func() (bool, string) {
		d, err := c.Client.AppsV1().DaemonSets(ns).Get(testCtx(t), "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		d.Spec.Template.Spec.Containers[0].Image = "agent:2"
		_, err = c.Client.AppsV1().DaemonSets(ns).Update(testCtx(t), d, metav1.UpdateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	var hash string
	eventually(t, 30*time.Second, "a new template hash", func() (bool, string) {
		for _, pods := range c.daemonPods(t, ns) {
			if h := pods[0].Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != old {
				hash = h
				return true, ""
			}
		}
		return false, "all pods have the old hash"
	})
	c.waitDaemonOn(t, ns, "every pod on the new template", []string{"worker-0", "worker-2"}, hash)
	for _, pods := range c.daemonPods(t, ns) {
		if img := pods[0].Spec.Containers[0].Image; img != "agent:2" {
			t.Errorf("pod %s runs %s, want agent:2", pods[0].Name, img)
		}
	}
	mu.Lock()
	if minReady < 1 {
		t.Errorf("during the rollout %d nodes had a ready pod; maxUnavailable 1 of 2 allows no fewer than 1", minReady)
	}
	mu.Unlock()
	eventually(t, 30*time.Second, "the status after the rollout", func() (bool, string) {
		d, err := c.Client.AppsV1().DaemonSets(ns).Get(testCtx(t), "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		s := d.Status
		return s.DesiredNumberScheduled == 2 && s.UpdatedNumberScheduled == 2 && s.NumberAvailable == 2 &&
			s.ObservedGeneration == d.Generation, fmt.Sprintf("%+v", s)
	})
	c.hasEvent(t, ns, "agent", "SuccessfulDelete")
}

func TestDaemonSetOnDelete(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: ns},
		Spec: appsv1.DaemonSetSpec{
			Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent:1"}}},
			},
		},
	}
	if _, err := c.Client.AppsV1().DaemonSets(ns).Create(testCtx(t), ds, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitDaemonOn(t, ns, "a pod on each node", []string{"node-0", "node-1"}, "")
	eventually(t, 30*time.Second, "update the template", func() (bool, string) {
		d, err := c.Client.AppsV1().DaemonSets(ns).Get(testCtx(t), "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		d.Spec.Template.Spec.Containers[0].Image = "agent:2"
		_, err = c.Client.AppsV1().DaemonSets(ns).Update(testCtx(t), d, metav1.UpdateOptions{})
		return err == nil, fmt.Sprint(err)
	})
	eventually(t, 30*time.Second, "the status to see the update", func() (bool, string) {
		d, err := c.Client.AppsV1().DaemonSets(ns).Get(testCtx(t), "agent", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return d.Status.ObservedGeneration == d.Generation && d.Status.UpdatedNumberScheduled == 0, fmt.Sprintf("%+v", d.Status)
	})
	// OnDelete: the pods stay on the old template until deleted.
	victim := c.daemonPods(t, ns)["node-0"][0]
	if err := c.Client.CoreV1().Pods(ns).Delete(testCtx(t), victim.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "node-0's replacement on the new template", func() (bool, string) {
		byNode := c.daemonPods(t, ns)
		p0, p1 := byNode["node-0"], byNode["node-1"]
		if len(p0) != 1 || len(p1) != 1 {
			return false, fmt.Sprintf("%d pods on node-0, %d on node-1", len(p0), len(p1))
		}
		return p0[0].Spec.Containers[0].Image == "agent:2" && p1[0].Spec.Containers[0].Image == "agent:1",
			fmt.Sprintf("node-0 runs %s, node-1 %s", p0[0].Spec.Containers[0].Image, p1[0].Spec.Containers[0].Image)
	})
}
