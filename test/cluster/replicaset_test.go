package cluster

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/test/hollow"
)

// newReplicaSet is a ReplicaSet of replicas pods labelled app=name.
func newReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	lbl := map[string]string{"app": name}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1"}}},
			},
		},
	}
}

// waitReplicaSetReady waits until the ReplicaSet has observed its spec and has
// exactly spec.replicas pods, all ready and none terminating; it returns them.
func (c *cluster) waitReplicaSetReady(t *testing.T, ns, name string) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, 30*time.Second, "replicaset "+name+" ready", func() (bool, string) {
		rs, err := c.Client.AppsV1().ReplicaSets(ns).Get(c.ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		want := *rs.Spec.Replicas
		s := rs.Status
		if s.ObservedGeneration < rs.Generation || s.Replicas != want || s.ReadyReplicas != want || s.AvailableReplicas != want || s.FullyLabeledReplicas != want {
			return false, fmt.Sprintf("status %+v, want %d", s, want)
		}
		pods = c.podsOf(t, ns, "app="+name)
		for _, p := range pods {
			if p.DeletionTimestamp != nil || !podReady(&p) {
				return false, fmt.Sprintf("pod %s deleting %v ready %v", p.Name, p.DeletionTimestamp != nil, podReady(&p))
			}
			if !metav1.IsControlledBy(&p, rs) {
				return false, fmt.Sprintf("pod %s not controlled by the ReplicaSet", p.Name)
			}
		}
		return len(pods) == int(want), fmt.Sprintf("%d pods, want %d", len(pods), want)
	})
	return pods
}

func TestReplicaSetReplacesDeletedPod(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	if _, err := c.Client.AppsV1().ReplicaSets(ns).Create(testCtx(t), newReplicaSet("app", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := c.waitReplicaSetReady(t, ns, "app")
	gone := pods[0].Name
	if err := c.Client.CoreV1().Pods(ns).Delete(testCtx(t), gone, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "deleted pod replaced", func() (bool, string) {
		var names []string
		for _, p := range c.podsOf(t, ns, "app=app") {
			if p.Name == gone {
				return false, "the deleted pod is still terminating"
			}
			names = append(names, p.Name)
		}
		return len(names) == 3, fmt.Sprintf("pods %v", names)
	})
	c.waitReplicaSetReady(t, ns, "app")
	eventually(t, 30*time.Second, "4 SuccessfulCreate events", func() (bool, string) {
		n := c.countEvents(t, ns, "app", "SuccessfulCreate")
		return n == 4, fmt.Sprintf("%d", n)
	})
}

func TestReplicaSetAdoptsAndReleases(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	orphan := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "orphan", Labels: map[string]string{"app": "app"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:v1"}}},
	}
	created, err := c.Client.CoreV1().Pods(ns).Create(testCtx(t), orphan, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "orphan pod ready", func() (bool, string) {
		p, err := c.Client.CoreV1().Pods(ns).Get(c.ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return podReady(p), string(p.Status.Phase)
	})
	rs, err := c.Client.AppsV1().ReplicaSets(ns).Create(testCtx(t), newReplicaSet("app", 2), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods := c.waitReplicaSetReady(t, ns, "app")
	adopted := false
	for _, p := range pods {
		adopted = adopted || p.UID == created.UID
	}
	if !adopted {
		t.Fatalf("pods %v: the orphan was not adopted", pods)
	}
	if n := c.countEvents(t, ns, "app", "SuccessfulCreate"); n > 1 {
		t.Errorf("%d pods created for 2 replicas with an orphan to adopt", n)
	}

	// Relabelled out of the selector, the pod is released and replaced.
	_, err = c.Client.CoreV1().Pods(ns).Patch(testCtx(t), "orphan", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"app":"elsewhere"}}}`), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "relabelled pod released", func() (bool, string) {
		p, err := c.Client.CoreV1().Pods(ns).Get(c.ctx, "orphan", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(p.OwnerReferences) == 0, fmt.Sprintf("owners %v", p.OwnerReferences)
	})
	for _, p := range c.waitReplicaSetReady(t, ns, "app") {
		if p.Name == "orphan" || !metav1.IsControlledBy(&p, rs) {
			t.Errorf("pod %s (owners %v) after the release", p.Name, p.OwnerReferences)
		}
	}
}

func TestReplicaSetScaleDownPrefersNotReady(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 3, hollow.Options{})
	ns := c.namespace(t)
	if _, err := c.Client.AppsV1().ReplicaSets(ns).Create(testCtx(t), newReplicaSet("app", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pods := c.waitReplicaSetReady(t, ns, "app")
	sick := pods[1].Name
	_, err := c.Client.CoreV1().Pods(ns).Patch(testCtx(t), sick, types.MergePatchType,
		[]byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:"false"}}}`, hollow.AnnotationReady)), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "ReplicaSet sees the pod not ready", func() (bool, string) {
		rs, err := c.Client.AppsV1().ReplicaSets(ns).Get(c.ctx, "app", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return rs.Status.ReadyReplicas == 2, fmt.Sprintf("%d ready", rs.Status.ReadyReplicas)
	})
	rs, err := c.Client.AppsV1().ReplicaSets(ns).Get(testCtx(t), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rs.Spec.Replicas = ptr.To(int32(2))
	if _, err := c.Client.AppsV1().ReplicaSets(ns).Update(testCtx(t), rs, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range c.waitReplicaSetReady(t, ns, "app") {
		if p.Name == sick {
			t.Errorf("scale-down kept the not-ready pod %s", sick)
		}
	}
	c.waitEvent(t, ns, "app", "SuccessfulDelete", "Deleted pod: "+sick)
}

// countEvents counts the events about the object named name with this reason
// (repeats of one event included).
func (c *cluster) countEvents(t *testing.T, ns, name, reason string) int {
	t.Helper()
	list, err := c.Client.CoreV1().Events(ns).List(testCtx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	n := 0
	for _, e := range list.Items {
		if e.InvolvedObject.Name == name && e.Reason == reason {
			n += int(max(e.Count, 1))
		}
	}
	return n
}
