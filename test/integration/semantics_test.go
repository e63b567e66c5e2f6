package integration

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// TestConflict: an update carrying a stale resourceVersion gets 409 Conflict and
// changes nothing; one without a resourceVersion is unconditional.
func TestConflict(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	orig, _ := cms.Create(c, configMap(ns, "cm", "1"), metav1.CreateOptions{})
	a, b := orig.DeepCopy(), orig.DeepCopy()
	a.Data["v"] = "a"
	if _, err := cms.Update(c, a, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	b.Data["v"] = "b"
	if _, err := cms.Update(c, b, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("stale update: %v, want Conflict", err)
	}
	if got, _ := cms.Get(c, "cm", metav1.GetOptions{}); got.Data["v"] != "a" {
		t.Fatalf("after a refused update the value is %q", got.Data["v"])
	}
	b.ResourceVersion = ""
	if got, err := cms.Update(c, b, metav1.UpdateOptions{}); err != nil || got.Data["v"] != "b" {
		t.Fatalf("unconditional update: %v", err)
	}
	if _, err := cms.Create(c, configMap(ns, "cm", "x"), metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create: %v, want AlreadyExists", err)
	}
}

// TestSelectorsAndPaging: label and field selectors (spec.nodeName, status.phase,
// metadata.name) filter lists; limit/continue pages through a consistent snapshot.
func TestSelectorsAndPaging(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	pods := shared.Client.CoreV1().Pods(ns)
	for i := 0; i < 25; i++ {
		p := pod(ns, fmt.Sprintf("p-%02d", i), map[string]string{"parity": []string{"even", "odd"}[i%2]})
		if _, err := pods.Create(c, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind(t, ns, "p-03", "node-a")
	p4, _ := pods.Get(c, "p-04", metav1.GetOptions{})
	p4.Status.Phase = corev1.PodRunning
	if _, err := pods.UpdateStatus(c, p4, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		label, field string
		want         int
	}{
		{"parity=even", "", 13},
		{"parity in (odd)", "", 12},
		{"parity!=odd", "metadata.name!=p-00", 12},
		{"", "spec.nodeName=node-a", 1},
		{"", "spec.nodeName=", 24},
		{"", "status.phase=Running", 1},
		{"", "status.phase=Pending,metadata.name=p-04", 0},
		{"", "metadata.namespace=" + ns, 25},
	} {
		l, err := pods.List(c, metav1.ListOptions{LabelSelector: tc.label, FieldSelector: tc.field})
		if err != nil {
			t.Fatalf("%q %q: %v", tc.label, tc.field, err)
		}
		if len(l.Items) != tc.want {
			t.Errorf("labels %q fields %q: %d pods, want %d", tc.label, tc.field, len(l.Items), tc.want)
		}
	}
	if _, err := pods.List(c, metav1.ListOptions{FieldSelector: "spec.unknown=x"}); !apierrors.IsBadRequest(err) {
		t.Errorf("unknown field selector: %v, want 400", err)
	}

	// Paging: 10 + 10 + 5, a consistent snapshot even when objects change between pages.
	page, err := pods.List(c, metav1.ListOptions{Limit: 10})
	if err != nil || len(page.Items) != 10 || page.Continue == "" {
		t.Fatalf("first page: %d items, continue %q, %v", len(page.Items), page.Continue, err)
	}
	if page.RemainingItemCount == nil || *page.RemainingItemCount != 15 {
		t.Errorf("remainingItemCount %v, want 15", page.RemainingItemCount)
	}
	pods.Create(c, pod(ns, "p-zz", nil), metav1.CreateOptions{}) // after the snapshot
	names := map[string]bool{}
	for _, p := range page.Items {
		names[p.Name] = true
	}
	for page.Continue != "" {
		if page, err = pods.List(c, metav1.ListOptions{Limit: 10, Continue: page.Continue}); err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Items {
			if names[p.Name] {
				t.Errorf("%s listed twice", p.Name)
			}
			names[p.Name] = true
		}
	}
	if len(names) != 25 || names["p-zz"] {
		t.Errorf("paged list saw %d pods (p-zz: %v), want the 25 of the snapshot", len(names), names["p-zz"])
	}
}

// bind assigns a pod to a node through pods/binding.
func bind(t *testing.T, ns, name, node string) {
	t.Helper()
	err := shared.Client.CoreV1().Pods(ns).Bind(ctx(t), &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Target: corev1.ObjectReference{Kind: "Node", Name: node},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("bind %s to %s: %v", name, node, err)
	}
}

// TestStatusSubresource: spec and status are written separately; generation moves on
// spec changes only; defaults are applied.
func TestStatusSubresource(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	deps := shared.Client.AppsV1().Deployments(ns)
	d := deployment("web")
	d.Status = appsv1.DeploymentStatus{Replicas: 99}
	d, err := deps.Create(c, d, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 1 || d.Status.Replicas != 0 {
		t.Errorf("created: generation %d, status.replicas %d; want 1 and 0 (status is not set on create)", d.Generation, d.Status.Replicas)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType ||
		d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("defaults: replicas %v strategy %q history %v", d.Spec.Replicas, d.Spec.Strategy.Type, d.Spec.RevisionHistoryLimit)
	}
	d.Status.Replicas, d.Status.ObservedGeneration = 3, 1
	d.Spec.Replicas = ptr.To[int32](7) // ignored by /status
	d, err = deps.UpdateStatus(c, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.Replicas != 3 || *d.Spec.Replicas != 1 || d.Generation != 1 {
		t.Errorf("after /status: status.replicas %d spec.replicas %d generation %d; want 3, 1, 1", d.Status.Replicas, *d.Spec.Replicas, d.Generation)
	}
	d.Labels = map[string]string{"x": "y"}
	d, _ = deps.Update(c, d, metav1.UpdateOptions{})
	if d.Generation != 1 {
		t.Errorf("a metadata change moved generation to %d", d.Generation)
	}
	d.Spec.Replicas = ptr.To[int32](5)
	d.Status.Replicas = 42 // ignored by the main resource
	d, err = deps.Update(c, d, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Generation != 2 || d.Status.Replicas != 3 {
		t.Errorf("after a spec update: generation %d status.replicas %d; want 2 and 3", d.Generation, d.Status.Replicas)
	}
	// Patches: strategic merge, JSON merge and JSON patch.
	d, err = deps.Patch(c, "web", types.StrategicMergePatchType, []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"hello:2"}]}}}}`), metav1.PatchOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "hello:2" || len(d.Spec.Template.Spec.Containers) != 1 || d.Generation != 3 {
		t.Fatalf("strategic merge patch: %v", err)
	}
	d, err = deps.Patch(c, "web", types.JSONPatchType, []byte(`[{"op":"replace","path":"/spec/replicas","value":2}]`), metav1.PatchOptions{})
	if err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("JSON patch: %v", err)
	}
	d, err = deps.Patch(c, "web", types.MergePatchType, []byte(`{"status":{"readyReplicas":2}}`), metav1.PatchOptions{}, "status")
	if err != nil || d.Status.ReadyReplicas != 2 {
		t.Fatalf("merge patch of status: %v", err)
	}
	if _, err := deps.Patch(c, "web", types.JSONPatchType, []byte(`[{"op":"test","path":"/spec/replicas","value":9}]`), metav1.PatchOptions{}); err == nil {
		t.Errorf("a failing JSON patch test op succeeded")
	}
}

// TestBinding: a pod is bound once, marked PodScheduled; a second binding conflicts.
func TestBinding(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	pods := shared.Client.CoreV1().Pods(ns)
	pods.Create(c, pod(ns, "p", nil), metav1.CreateOptions{})
	bind(t, ns, "p", "node-1")
	p, _ := pods.Get(c, "p", metav1.GetOptions{})
	if p.Spec.NodeName != "node-1" {
		t.Fatalf("nodeName %q", p.Spec.NodeName)
	}
	scheduled := false
	for _, cond := range p.Status.Conditions {
		scheduled = scheduled || cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue
	}
	if !scheduled {
		t.Errorf("no PodScheduled=True condition: %v", p.Status.Conditions)
	}
	err := pods.Bind(c, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-2"}}, metav1.CreateOptions{})
	if !apierrors.IsConflict(err) {
		t.Fatalf("second binding: %v, want Conflict", err)
	}
}

// TestDeletion: finalizers hold an object with a deletionTimestamp until removed; a
// bound pod gets a grace period (the kubelet finishes with grace 0); propagation
// policies add the garbage collector's finalizers; namespaces turn Terminating and
// refuse new content, and missing namespaces refuse it with 404.
func TestDeletion(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	cm := configMap(ns, "held", "1")
	cm.Finalizers = []string{"example.com/hold"}
	cms.Create(c, cm, metav1.CreateOptions{})
	if err := cms.Delete(c, "held", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(c, "held", metav1.GetOptions{})
	if err != nil || cm.DeletionTimestamp == nil {
		t.Fatalf("held object: %v, deletionTimestamp %v", err, cm.DeletionTimestamp)
	}
	cm.Finalizers = append(cm.Finalizers, "example.com/another")
	if _, err := cms.Update(c, cm, metav1.UpdateOptions{}); !apierrors.IsInvalid(err) {
		t.Errorf("adding a finalizer while deleting: %v, want Invalid", err)
	}
	cm, _ = cms.Get(c, "held", metav1.GetOptions{})
	cm.Finalizers = nil
	if _, err := cms.Update(c, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Get(c, "held", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after the last finalizer: %v, want NotFound", err)
	}

	pods := shared.Client.CoreV1().Pods(ns)
	p := pod(ns, "graceful", nil)
	p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](20)
	pods.Create(c, p, metav1.CreateOptions{})
	bind(t, ns, "graceful", "node-1")
	if err := pods.Delete(c, "graceful", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err = pods.Get(c, "graceful", metav1.GetOptions{})
	if err != nil || p.DeletionTimestamp == nil || *p.DeletionGracePeriodSeconds != 20 {
		t.Fatalf("bound pod after delete: %v %+v", err, p.ObjectMeta)
	}
	if until := time.Until(p.DeletionTimestamp.Time); until < 10*time.Second || until > 21*time.Second {
		t.Errorf("deletionTimestamp %s from now, want about 20s", until)
	}
	if err := pods.Delete(c, "graceful", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Get(c, "graceful", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after delete with grace 0: %v", err)
	}
	pods.Create(c, pod(ns, "unbound", nil), metav1.CreateOptions{})
	pods.Delete(c, "unbound", metav1.DeleteOptions{})
	if _, err := pods.Get(c, "unbound", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("an unbound pod is deleted at once; got %v", err)
	}

	cms.Create(c, configMap(ns, "fg", "1"), metav1.CreateOptions{})
	fg := metav1.DeletePropagationForeground
	cms.Delete(c, "fg", metav1.DeleteOptions{PropagationPolicy: &fg})
	if cm, err := cms.Get(c, "fg", metav1.GetOptions{}); err != nil || len(cm.Finalizers) != 1 || cm.Finalizers[0] != metav1.FinalizerDeleteDependents {
		t.Errorf("foreground delete: %v, finalizers %v", err, cm.Finalizers)
	}
	cms.Create(c, configMap(ns, "orphan", "1"), metav1.CreateOptions{})
	orphan := metav1.DeletePropagationOrphan
	cms.Delete(c, "orphan", metav1.DeleteOptions{PropagationPolicy: &orphan})
	if cm, err := cms.Get(c, "orphan", metav1.GetOptions{}); err != nil || len(cm.Finalizers) != 1 || cm.Finalizers[0] != metav1.FinalizerOrphanDependents {
		t.Errorf("orphan delete: %v, finalizers %v", err, cm.Finalizers)
	}

	nsc := shared.Client.CoreV1().Namespaces()
	if err := nsc.Delete(c, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ := nsc.Get(c, ns, metav1.GetOptions{})
	if got.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("deleted namespace phase %q, want Terminating", got.Status.Phase)
	}
	if _, err := cms.Create(c, configMap(ns, "late", "1"), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("create in a terminating namespace: %v, want Forbidden", err)
	}
	if _, err := shared.Client.CoreV1().ConfigMaps("no-such-ns").Create(c, configMap("no-such-ns", "x", "1"), metav1.CreateOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("create in a missing namespace: %v, want NotFound", err)
	}
	// The namespace controller's last step: clear spec.finalizers through /finalize.
	got.Spec.Finalizers = nil
	if _, err := nsc.Finalize(c, got, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("finalize: %v", err)
	}
	if _, err := nsc.Get(c, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("finalized namespace: %v, want NotFound", err)
	}
}

// TestSystemNamespacesAndGenerateName: default and kube-system exist from the start;
// generateName gives unique names.
func TestSystemNamespacesAndGenerateName(t *testing.T) {
	c := ctx(t)
	for _, ns := range []string{"default", "kube-system"} {
		if _, err := shared.Client.CoreV1().Namespaces().Get(c, ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", ns, err)
		}
	}
	ns := testNamespace(t, shared)
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "gen-"}}
		got, err := shared.Client.CoreV1().ConfigMaps(ns).Create(c, cm, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Name) != len("gen-")+5 || seen[got.Name] {
			t.Fatalf("generated name %q", got.Name)
		}
		seen[got.Name] = true
	}
}

// TestScaleSubresource: Deployments and ReplicaSets scale through /scale (as `kubectl
// scale` does), which changes spec.replicas only and bumps generation.
func TestScaleSubresource(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	deps := shared.Client.AppsV1().Deployments(ns)
	d := deployment("web")
	if _, err := deps.Create(c, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sc, err := deps.GetScale(c, "web", metav1.GetOptions{})
	if err != nil || sc.Spec.Replicas != 1 || sc.Status.Selector != "app=web" {
		t.Fatalf("get scale: %v %+v", err, sc)
	}
	sc.Spec.Replicas = 4
	if _, err := deps.UpdateScale(c, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := deps.UpdateScale(c, "web", sc, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Errorf("stale scale update: %v, want Conflict", err)
	}
	got, _ := deps.Get(c, "web", metav1.GetOptions{})
	if *got.Spec.Replicas != 4 || got.Generation != 2 {
		t.Errorf("after scaling: replicas %d generation %d, want 4 and 2", *got.Spec.Replicas, got.Generation)
	}
	if _, err := deps.Patch(c, "web", types.MergePatchType, []byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}, "scale"); err != nil {
		t.Fatal(err)
	}
	if got, _ := deps.Get(c, "web", metav1.GetOptions{}); *got.Spec.Replicas != 2 {
		t.Errorf("after a scale patch: %d replicas", *got.Spec.Replicas)
	}
}
