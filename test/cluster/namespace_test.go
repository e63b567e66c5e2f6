package cluster

import (
	"fmt"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/test/hollow"
)

func TestNamespaceDeletionRemovesEverything(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{})
	c.addNodes(t, 2, hollow.Options{})
	ns := c.namespace(t)
	ctx := c.ctx
	core := c.Client.CoreV1()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(core.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}, metav1.CreateOptions{}))
	must(core.Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token"}}, metav1.CreateOptions{}))
	must(core.Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{}))
	must(c.Client.CoordinationV1().Leases(ns).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "leader"}}, metav1.CreateOptions{}))
	must(c.Client.AppsV1().Deployments(ns).Create(ctx, gcDeployment("web", 3), metav1.CreateOptions{}))
	must(core.Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "bare"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.com/app:1"}}},
	}, metav1.CreateOptions{}))
	eventually(t, 30*time.Second, "4 ready pods", func() (bool, string) {
		ready := 0
		pods := c.podsOf(t, ns, "")
		for i := range pods {
			if podReady(&pods[i]) {
				ready++
			}
		}
		return ready == 4, fmt.Sprintf("%d of %d ready", ready, len(pods))
	})

	if err := core.Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, "namespace "+ns, func() error { _, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{}); return err })

	// Nothing is left behind in it.
	counts := map[string]int{}
	count := func(kind string, n int, err error) {
		if err != nil {
			t.Errorf("list %s: %v", kind, err)
		}
		counts[kind] = n
	}
	pods, err := core.Pods(ns).List(ctx, metav1.ListOptions{})
	count("pods", len(pods.Items), err)
	cms, err := core.ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	count("configmaps", len(cms.Items), err)
	secrets, err := core.Secrets(ns).List(ctx, metav1.ListOptions{})
	count("secrets", len(secrets.Items), err)
	svcs, err := core.Services(ns).List(ctx, metav1.ListOptions{})
	count("services", len(svcs.Items), err)
	sas, err := core.ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	count("serviceaccounts", len(sas.Items), err)
	deps, err := c.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	count("deployments", len(deps.Items), err)
	rss, err := c.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
	count("replicasets", len(rss.Items), err)
	leases, err := c.Client.CoordinationV1().Leases(ns).List(ctx, metav1.ListOptions{})
	count("leases", len(leases.Items), err)
	for kind, n := range counts {
		if n != 0 {
			t.Errorf("%d %s left in the deleted namespace", n, kind)
		}
	}
}

func TestNamespaceWaitsForFinalizers(t *testing.T) {
	t.Parallel()
	c := startCluster(t, controllers.Options{Controllers: []string{"namespace", "garbagecollector"}})
	ns := c.namespace(t)
	ctx := c.ctx
	core := c.Client.CoreV1()
	c.configMapOwned(t, ns, "held", []string{holdFinalizer})
	c.configMapOwned(t, ns, "free", nil)

	if err := core.Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("phase = %s, want Terminating", got.Status.Phase)
	}
	cond := func(n *corev1.Namespace, typ corev1.NamespaceConditionType) *corev1.NamespaceCondition {
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == typ {
				return &n.Status.Conditions[i]
			}
		}
		return nil
	}
	eventually(t, 30*time.Second, "conditions naming what is left", func() (bool, string) {
		n, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		remaining, fins := cond(n, corev1.NamespaceContentRemaining), cond(n, corev1.NamespaceFinalizersRemaining)
		ok := remaining != nil && remaining.Status == corev1.ConditionTrue && remaining.Reason == "SomeResourcesRemain" &&
			remaining.Message == "Some resources are remaining: configmaps has 1 resource instances" &&
			fins != nil && fins.Status == corev1.ConditionTrue && fins.Reason == "SomeFinalizersRemain" &&
			fins.Message == "Some content in the namespace has finalizers remaining: "+holdFinalizer+" in 1 resource instances"
		return ok, toJSON(n.Status.Conditions)
	})
	if d := cond(got, corev1.NamespaceDeletionDiscoveryFailure); d != nil && d.Status == corev1.ConditionTrue {
		t.Errorf("discovery failed: %s", d.Message)
	}
	if _, err := core.ConfigMaps(ns).Get(ctx, "free", metav1.GetOptions{}); err == nil {
		t.Error("the configmap without finalizers is still there")
	}

	c.dropFinalizers(t, ns, "held")
	waitGone(t, "namespace "+ns, func() error { _, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{}); return err })
}
