package cluster

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/test/hollow"
)

// holdFinalizer is a finalizer of the tests' own: nothing removes it but the test,
// so an object carrying it stays, deleting, as long as the test wants.
const holdFinalizer = "test.berth.dev/hold"

// gcDeployment is a Deployment of replicas pods labelled app=name.
func gcDeployment(name string, replicas int32) *appsv1.Deployment {
	lbl := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
			},
		},
	}
}

// gcReplicaSet is a ReplicaSet of replicas pods labelled app=name.
func gcReplicaSet(name string, replicas int32) *appsv1.ReplicaSet {
	d := gcDeployment(name, replicas)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: d.Spec.Selector, Template: d.Spec.Template},
	}
}

// waitReadyPods waits until selector matches exactly want pods, all ready and
// none being deleted, and returns them.
func (c *cluster) waitReadyPods(t *testing.T, ns, selector string, want int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, 30*time.Second, fmt.Sprintf("%d ready pods %s", want, selector), func() (bool, string) {
		pods = c.podsOf(t, ns, selector)
		ready := 0
		for i := range pods {
			if podReady(&pods[i]) && pods[i].DeletionTimestamp == nil {
				ready++
			}
		}
		return ready == want && len(pods) == want, fmt.Sprintf("%d pods, %d ready", len(pods), ready)
	})
	return pods
}

// waitGone waits until get answers NotFound.
func waitGone(t *testing.T, what string, get func() error) {
	t.Helper()
	eventually(t, 30*time.Second, what+" gone", func() (bool, string) {
		err := get()
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}

// configMapOwned creates a ConfigMap owned by the objects of refs.
func (c *cluster) configMapOwned(t *testing.T, ns, name string, finalizers []string, refs ...metav1.OwnerReference) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: refs, Finalizers: finalizers}}
	created, err := c.Client.CoreV1().ConfigMaps(ns).Create(testCtx(t), cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create configmap %s: %v", name, err)
	}
	return created
}

// refTo is an ownerReference to a ConfigMap.
func refTo(cm *corev1.ConfigMap, block bool) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: cm.Name, UID: cm.UID, BlockOwnerDeletion: &block}
}

// dropFinalizers removes every finalizer of a ConfigMap.
func (c *cluster) dropFinalizers(t *testing.T, ns, name string) {
	t.Helper()
	patch := []byte(`{"metadata":{"finalizers":null}}`)
	if _, err := c.Client.CoreV1().ConfigMaps(ns).Patch(testCtx(t), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("drop finalizers of %s: %v", name, err)
	}
}

func deleteWith(policy metav1.DeletionPropagation) metav1.DeleteOptions {
	return metav1.DeleteOptions{PropagationPolicy: &policy}
}

func TestGCConfigMapChains(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{Controllers: []string{"garbagecollector"}})
	ns := c.namespace(t)
	cms := c.Client.CoreV1().ConfigMaps(ns)
	get := func(name string) func() error {
		return func() error { _, err := cms.Get(c.ctx, name, metav1.GetOptions{}); return err }
	}

	t.Run("background", func(t *testing.T) {
		a := c.configMapOwned(t, ns, "bg-a", nil)
		b := c.configMapOwned(t, ns, "bg-b", nil, refTo(a, false))
		c.configMapOwned(t, ns, "bg-c", nil, refTo(b, false))
		// Another owner keeps this one; it only loses its reference to bg-a.
		keeper := c.configMapOwned(t, ns, "bg-keeper", nil)
		c.configMapOwned(t, ns, "bg-shared", nil, refTo(a, false), refTo(keeper, false))
		if err := cms.Delete(c.ctx, "bg-a", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitGone(t, "bg-b", get("bg-b"))
		waitGone(t, "bg-c", get("bg-c"))
		eventually(t, 30*time.Second, "bg-shared to lose its reference to bg-a", func() (bool, string) {
			cm, err := cms.Get(c.ctx, "bg-shared", metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			return len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == keeper.UID, fmt.Sprint(cm.OwnerReferences)
		})
	})

	t.Run("foreground", func(t *testing.T) {
		a := c.configMapOwned(t, ns, "fg-a", nil)
		b := c.configMapOwned(t, ns, "fg-b", nil, refTo(a, true))
		c.configMapOwned(t, ns, "fg-c", []string{holdFinalizer}, refTo(b, true))
		if err := cms.Delete(c.ctx, "fg-a", deleteWith(metav1.DeletePropagationForeground)); err != nil {
			t.Fatal(err)
		}
		// fg-c is held: fg-b is deleted in foreground and waits for it, and fg-a for fg-b.
		eventually(t, 30*time.Second, "fg-c deleting", func() (bool, string) {
			cm, err := cms.Get(c.ctx, "fg-c", metav1.GetOptions{})
			return err == nil && cm.DeletionTimestamp != nil, fmt.Sprint(err)
		})
		for _, name := range []string{"fg-a", "fg-b"} {
			cm, err := cms.Get(c.ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s went before its blocking dependents: %v", name, err)
			}
			if cm.DeletionTimestamp == nil || !slices.Contains(cm.Finalizers, metav1.FinalizerDeleteDependents) {
				t.Errorf("%s: deletionTimestamp %v, finalizers %v; want deleting in foreground", name, cm.DeletionTimestamp, cm.Finalizers)
			}
		}
		c.dropFinalizers(t, ns, "fg-c")
		for _, name := range []string{"fg-c", "fg-b", "fg-a"} {
			waitGone(t, name, get(name))
		}
	})

	t.Run("orphan", func(t *testing.T) {
		a := c.configMapOwned(t, ns, "or-a", nil)
		c.configMapOwned(t, ns, "or-b", nil, refTo(a, true))
		if err := cms.Delete(c.ctx, "or-a", deleteWith(metav1.DeletePropagationOrphan)); err != nil {
			t.Fatal(err)
		}
		waitGone(t, "or-a", get("or-a"))
		cm, err := cms.Get(c.ctx, "or-b", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the orphan was deleted: %v", err)
		}
		if len(cm.OwnerReferences) != 0 {
			t.Errorf("the orphan still has owners %v", cm.OwnerReferences)
		}
	})

	t.Run("owner recreated with the same name", func(t *testing.T) {
		old := c.configMapOwned(t, ns, "re-owner", []string{holdFinalizer})
		if err := cms.Delete(c.ctx, "re-owner", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		c.dropFinalizers(t, ns, "re-owner")
		waitGone(t, "re-owner", get("re-owner"))
		c.configMapOwned(t, ns, "re-owner", nil) // a new UID
		c.configMapOwned(t, ns, "re-child", nil, refTo(old, false))
		waitGone(t, "re-child of the old owner", get("re-child"))
	})
}

func TestGCDeploymentCascade(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	deployments := c.Client.AppsV1().Deployments(ns)

	// run creates a Deployment of 2 and waits for its pods.
	run := func(t *testing.T, name string) []corev1.Pod {
		t.Helper()
		if _, err := deployments.Create(c.ctx, gcDeployment(name, 2), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return c.waitReadyPods(t, ns, "app="+name, 2)
	}
	replicaSets := func(t *testing.T, name string) []appsv1.ReplicaSet {
		t.Helper()
		list, err := c.Client.AppsV1().ReplicaSets(ns).List(c.ctx, metav1.ListOptions{LabelSelector: "app=" + name})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	allGone := func(t *testing.T, name string) {
		t.Helper()
		eventually(t, 30*time.Second, name+"'s ReplicaSets and pods gone", func() (bool, string) {
			rs, pods := replicaSets(t, name), c.podsOf(t, ns, "app="+name)
			return len(rs) == 0 && len(pods) == 0, fmt.Sprintf("%d ReplicaSets, %d pods", len(rs), len(pods))
		})
	}

	t.Run("background", func(t *testing.T) {
		run(t, "bg")
		if err := deployments.Delete(c.ctx, "bg", deleteWith(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		allGone(t, "bg")
	})

	t.Run("foreground", func(t *testing.T) {
		pods := run(t, "fg")
		// One pod is held, so the cascade cannot finish before we look.
		patch := []byte(`{"metadata":{"finalizers":["` + holdFinalizer + `"]}}`)
		if _, err := c.Client.CoreV1().Pods(ns).Patch(c.ctx, pods[0].Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := deployments.Delete(c.ctx, "fg", deleteWith(metav1.DeletePropagationForeground)); err != nil {
			t.Fatal(err)
		}
		eventually(t, 30*time.Second, "the other pod gone and the held one deleting", func() (bool, string) {
			left := c.podsOf(t, ns, "app=fg")
			return len(left) == 1 && left[0].Name == pods[0].Name && left[0].DeletionTimestamp != nil, fmt.Sprint(len(left), " pods")
		})
		d, err := deployments.Get(c.ctx, "fg", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the Deployment went before its pods: %v", err)
		}
		if d.DeletionTimestamp == nil || !slices.Contains(d.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Errorf("Deployment: deletionTimestamp %v, finalizers %v", d.DeletionTimestamp, d.Finalizers)
		}
		if rs := replicaSets(t, "fg"); len(rs) != 1 || rs[0].DeletionTimestamp == nil {
			t.Errorf("ReplicaSets %d, want one, deleting", len(rs))
		}
		if _, err := c.Client.CoreV1().Pods(ns).Patch(c.ctx, pods[0].Name, types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		allGone(t, "fg")
		waitGone(t, "Deployment fg", func() error { _, err := deployments.Get(c.ctx, "fg", metav1.GetOptions{}); return err })
	})

	t.Run("orphan", func(t *testing.T) {
		pods := run(t, "or")
		rs := replicaSets(t, "or")
		if len(rs) != 1 {
			t.Fatalf("%d ReplicaSets, want 1", len(rs))
		}
		if err := deployments.Delete(c.ctx, "or", deleteWith(metav1.DeletePropagationOrphan)); err != nil {
			t.Fatal(err)
		}
		waitGone(t, "Deployment or", func() error { _, err := deployments.Get(c.ctx, "or", metav1.GetOptions{}); return err })
		got, err := c.Client.AppsV1().ReplicaSets(ns).Get(c.ctx, rs[0].Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the orphaned ReplicaSet: %v", err)
		}
		if len(got.OwnerReferences) != 0 {
			t.Errorf("the ReplicaSet still has owners %v", got.OwnerReferences)
		}
		// Its pods stay, still its own.
		time.Sleep(time.Second)
		left := c.waitReadyPods(t, ns, "app=or", 2)
		for _, p := range left {
			if !slices.ContainsFunc(pods, func(q corev1.Pod) bool { return q.UID == p.UID }) {
				t.Errorf("pod %s is new: the old ones were deleted", p.Name)
			}
			if ref := metav1.GetControllerOf(&p); ref == nil || ref.UID != got.UID {
				t.Errorf("pod %s owner %v, want the ReplicaSet", p.Name, ref)
			}
		}
	})
}

func TestGCReplicaSetOrphanLeavesPodsWithoutOwner(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	if _, err := c.Client.AppsV1().ReplicaSets(ns).Create(c.ctx, gcReplicaSet("web", 3), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.waitReadyPods(t, ns, "app=web", 3)
	if err := c.Client.AppsV1().ReplicaSets(ns).Delete(c.ctx, "web", deleteWith(metav1.DeletePropagationOrphan)); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "ReplicaSet web", func() error {
		_, err := c.Client.AppsV1().ReplicaSets(ns).Get(c.ctx, "web", metav1.GetOptions{})
		return err
	})
	for _, p := range c.waitReadyPods(t, ns, "app=web", 3) {
		if len(p.OwnerReferences) != 0 {
			t.Errorf("pod %s still has owners %v", p.Name, p.OwnerReferences)
		}
	}
}

func TestGCLeaseOfDeletedNode(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	n := c.addNode(t, hollow.Options{Name: "doomed"})
	leases := c.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	lease, err := leases.Get(c.ctx, "doomed", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lease.OwnerReferences) != 1 || lease.OwnerReferences[0].Kind != "Node" {
		t.Fatalf("lease owners %v, want the Node", lease.OwnerReferences)
	}
	n.Stop() // a kubelet that is gone does not renew (and so recreate) its Lease
	if err := c.Client.CoreV1().Nodes().Delete(c.ctx, "doomed", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "the Lease", func() error { _, err := leases.Get(c.ctx, "doomed", metav1.GetOptions{}); return err })
}

// eventsAbout lists the reasons and messages of events about an object.
func (c *cluster) eventsAbout(t *testing.T, ns, kind, name string) []string {
	t.Helper()
	list, err := c.Client.CoreV1().Events(ns).List(c.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []string
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			out = append(out, e.Reason+": "+e.Message)
		}
	}
	return out
}

// waitEventAbout waits for an event about an object whose "reason: message" is want.
func (c *cluster) waitEventAbout(t *testing.T, ns, kind, name, want string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("event %q about %s %s", want, kind, name), func() (bool, string) {
		got := c.eventsAbout(t, ns, kind, name)
		return slices.Contains(got, want), strings.Join(got, "; ")
	})
}

// toJSON is for failure messages.
func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
