package cluster

import (
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/test/hollow"
)

// nodeState is a node's Ready condition and its taints, as "key:Effect".
func (c *cluster) nodeState(t *testing.T, name string) (*corev1.NodeCondition, []string) {
	t.Helper()
	node, err := c.Client.CoreV1().Nodes().Get(c.ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node %s: %v", name, err)
	}
	var ready *corev1.NodeCondition
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == corev1.NodeReady {
			ready = &node.Status.Conditions[i]
		}
	}
	var taints []string
	for _, tn := range node.Spec.Taints {
		taints = append(taints, tn.Key+":"+string(tn.Effect))
	}
	return ready, taints
}

// waitUnreachable waits until the node is Ready=Unknown and tainted unreachable.
func (c *cluster) waitUnreachable(t *testing.T, name string) {
	t.Helper()
	eventually(t, 30*time.Second, name+" unreachable", func() (bool, string) {
		ready, taints := c.nodeState(t, name)
		ok := ready != nil && ready.Status == corev1.ConditionUnknown && ready.Reason == "NodeStatusUnknown" &&
			ready.Message == "Kubelet stopped posting node status." &&
			slices.Contains(taints, "node.kubernetes.io/unreachable:NoExecute") &&
			slices.Contains(taints, "node.kubernetes.io/unreachable:NoSchedule")
		return ok, fmt.Sprintf("Ready %+v, taints %v", ready, taints)
	})
}

// waitNodeReady waits until the node is Ready=True with no taints.
func (c *cluster) waitNodeReady(t *testing.T, name string) {
	t.Helper()
	eventually(t, 30*time.Second, name+" ready and untainted", func() (bool, string) {
		ready, taints := c.nodeState(t, name)
		return ready != nil && ready.Status == corev1.ConditionTrue && len(taints) == 0, fmt.Sprintf("Ready %+v, taints %v", ready, taints)
	})
}

func TestNodeLostPodsMoveAndNodeReturns(t *testing.T) {
	t.Parallel()
	c := startCluster(t, lossyNodes)
	nodes := c.addNodes(t, 3, hollow.Options{})
	ns := c.namespace(t)
	if _, err := c.Client.AppsV1().Deployments(ns).Create(c.ctx, gcDeployment("web", 6), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := c.waitReadyPods(t, ns, "app=web", 6)
	onNode := map[string][]string{}
	for _, p := range pods {
		onNode[p.Spec.NodeName] = append(onNode[p.Spec.NodeName], p.Name)
	}
	lost := nodes[0]
	for _, n := range nodes {
		if len(onNode[n.Name()]) > len(onNode[lost.Name()]) {
			lost = n
		}
	}
	evicted := onNode[lost.Name()]
	t.Logf("stopping %s with pods %v", lost.Name(), evicted)

	lost.Stop()
	c.waitUnreachable(t, lost.Name())
	c.waitEventAbout(t, "default", "Node", lost.Name(), "NodeNotReady: Node "+lost.Name()+" status is now: NodeNotReady")

	// Its pods are evicted and replaced on the other nodes.
	eventually(t, 30*time.Second, "6 ready pods on the other nodes", func() (bool, string) {
		ready, elsewhere := 0, 0
		for _, p := range c.podsOf(t, ns, "app=web") {
			if p.DeletionTimestamp != nil {
				continue
			}
			if podReady(&p) {
				ready++
			}
			if p.Spec.NodeName != lost.Name() {
				elsewhere++
			}
		}
		return ready == 6 && elsewhere == 6, fmt.Sprintf("%d ready, %d not on %s", ready, elsewhere, lost.Name())
	})
	for _, name := range evicted {
		c.waitEventAbout(t, ns, "Pod", name, "NodeControllerEviction: Marking for deletion Pod "+name+" from Node "+lost.Name())
		p, err := c.Client.CoreV1().Pods(ns).Get(c.ctx, name, metav1.GetOptions{})
		if err != nil {
			continue // already gone
		}
		if p.DeletionTimestamp == nil {
			t.Errorf("evicted pod %s is not being deleted", name)
		}
		if cond := podConditionOf(p, corev1.DisruptionTarget); cond == nil || cond.Reason != "DeletionByTaintManager" {
			t.Errorf("pod %s DisruptionTarget = %+v", name, cond)
		}
	}

	// The kubelet comes back: Ready, untainted, and it finishes the deletions.
	lost.Resume()
	c.waitNodeReady(t, lost.Name())
	c.waitEventAbout(t, "default", "Node", lost.Name(), "NodeReady: Node "+lost.Name()+" status is now: NodeReady")
	c.waitReadyPods(t, ns, "app=web", 6)
}

func TestNodeLostEvictsBarePodsUnlessTolerated(t *testing.T) {
	t.Parallel()
	c := startCluster(t, lossyNodes)
	n := c.addNode(t, hollow.Options{Name: "solo"})
	ns := c.namespace(t)
	tolerate := func(secs *int64) []corev1.Toleration {
		return []corev1.Toleration{{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: secs}}
	}
	long := int64(3600)
	for name, tols := range map[string][]corev1.Toleration{
		"plain":      nil,             // the API server's default toleration: PodEvictionTimeout
		"forever":    tolerate(nil),   // tolerates the taint for ever
		"for-a-hour": tolerate(&long), // its own tolerationSeconds
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec: corev1.PodSpec{NodeName: "solo", Tolerations: tols,
				Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
		}
		if _, err := c.Client.CoreV1().Pods(ns).Create(c.ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	c.waitReadyPods(t, ns, "", 3)

	n.Stop()
	c.waitUnreachable(t, "solo")
	eventually(t, 30*time.Second, "the plain pod evicted", func() (bool, string) {
		p, err := c.Client.CoreV1().Pods(ns).Get(c.ctx, "plain", metav1.GetOptions{})
		return err == nil && p.DeletionTimestamp != nil, fmt.Sprint(err)
	})
	for _, p := range c.podsOf(t, ns, "") {
		if p.Name != "plain" && p.DeletionTimestamp != nil {
			t.Errorf("pod %s tolerates the taint, but is being deleted", p.Name)
		}
		if podReady(&p) {
			t.Errorf("pod %s on an unreachable node is still ready", p.Name)
		}
	}
}

func TestNodeDeletedPodsCollected(t *testing.T) {
	t.Parallel()
	c := startCluster(t, lossyNodes)
	n := c.addNode(t, hollow.Options{Name: "gone"})
	ns := c.namespace(t)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stranded", Namespace: ns},
		Spec:       corev1.PodSpec{NodeName: "gone", Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
	}
	if _, err := c.Client.CoreV1().Pods(ns).Create(c.ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitReadyPods(t, ns, "", 1)
	n.Stop()
	if err := c.Client.CoreV1().Nodes().Delete(c.ctx, "gone", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "the pod of a deleted node", func() error {
		_, err := c.Client.CoreV1().Pods(ns).Get(c.ctx, "stranded", metav1.GetOptions{})
		return err
	})
	c.waitEventAbout(t, "default", "Node", "gone", "RemovingNode: Node gone event: Removing Node gone from Controller")
}

// podConditionOf returns a pod's condition of a type, or nil.
func podConditionOf(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}
