package controllers

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	metadatafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
)

func TestNamespaceConditions(t *testing.T) {
	before, now := at(0), at(time.Minute)
	ok := func(typ corev1.NamespaceConditionType, reason, msg string, ts metav1.Time) corev1.NamespaceCondition {
		return corev1.NamespaceCondition{Type: typ, Status: corev1.ConditionFalse, Reason: reason, Message: msg, LastTransitionTime: ts}
	}
	allWell := func(ts metav1.Time) []corev1.NamespaceCondition {
		return []corev1.NamespaceCondition{
			ok(corev1.NamespaceDeletionDiscoveryFailure, "ResourcesDiscovered", "All resources successfully discovered", ts),
			ok(corev1.NamespaceDeletionGVParsingFailure, "ParsedGroupVersions", "All legacy kube types successfully parsed", ts),
			ok(corev1.NamespaceDeletionContentFailure, "ContentDeleted", "All content successfully deleted, may be waiting on finalization", ts),
			ok(corev1.NamespaceContentRemaining, "ContentRemoved", "All content successfully removed", ts),
			ok(corev1.NamespaceFinalizersRemaining, "ContentHasNoFinalizers", "All content-preserving finalizers finished", ts),
		}
	}
	got, changed := namespaceConditions(nil, nil, now)
	if diff := cmp.Diff(allWell(now), got); diff != "" || !changed {
		t.Errorf("first pass changed=%v (-want +got):\n%s", changed, diff)
	}
	if _, changed := namespaceConditions(allWell(before), nil, now); changed {
		t.Error("nothing new, but changed")
	}
	d := &deletion{
		left:       map[string]int{"pods": 2, "deployments.apps": 1, "configmaps": 0},
		finalizers: map[string]int{"foregroundDeletion": 1},
	}
	got, changed = namespaceConditions(allWell(before), d.problems(), now)
	want := allWell(before)
	want[3] = corev1.NamespaceCondition{Type: corev1.NamespaceContentRemaining, Status: corev1.ConditionTrue, Reason: "SomeResourcesRemain",
		Message: "Some resources are remaining: deployments.apps has 1 resource instances, pods has 2 resource instances", LastTransitionTime: now}
	want[4] = corev1.NamespaceCondition{Type: corev1.NamespaceFinalizersRemaining, Status: corev1.ConditionTrue, Reason: "SomeFinalizersRemain",
		Message: "Some content in the namespace has finalizers remaining: foregroundDeletion in 1 resource instances", LastTransitionTime: now}
	if diff := cmp.Diff(want, got); diff != "" || !changed {
		t.Errorf("content left: changed=%v (-want +got):\n%s", changed, diff)
	}
}

// partial is an object's metadata as the fake metadata client holds it.
func partial(apiVersion, kind, ns, name string, grace *int64) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + ns + "-" + name), DeletionGracePeriodSeconds: grace},
	}
}

func TestNamespaceControllerEmptiesThenFinalizes(t *testing.T) {
	ctx := context.Background()
	deleted := metav1.NewTime(t0)
	ns := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "doomed", DeletionTimestamp: &deleted},
		Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating},
	}
	client := fake.NewClientset(ns)
	client.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: allTestVerbs},
			{Name: "pods/status", Kind: "Pod", Namespaced: true, Verbs: []string{"get", "update"}},
			{Name: "configmaps", Kind: "ConfigMap", Namespaced: true, Verbs: allTestVerbs},
			{Name: "nodes", Kind: "Node", Namespaced: false, Verbs: allTestVerbs},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: []string{"get", "list", "delete"}},
		}},
	}
	scheme := runtime.NewScheme()
	metav1.AddMetaToScheme(scheme)
	thirty := int64(30)
	meta := metadatafake.NewSimpleMetadataClient(scheme,
		partial("v1", "Pod", "doomed", "web", nil),
		partial("v1", "ConfigMap", "doomed", "settings", nil),
		partial("v1", "ConfigMap", "other", "kept", nil),
		partial("apps/v1", "Deployment", "doomed", "web", nil),
	)
	// The pod is terminating: a collection delete only marks it, with its grace period.
	meta.PrependReactor("delete-collection", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		gvr, ns := a.GetResource(), a.GetNamespace()
		list, err := meta.Tracker().List(gvr, schema.GroupVersionKind{Group: "fake-metadata-client-group", Version: "v1"}, ns)
		if err != nil {
			return true, nil, err
		}
		for _, obj := range list.(*metav1.List).Items {
			p := obj.Object.(*metav1.PartialObjectMetadata)
			if gvr.Resource == "pods" {
				p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &deleted, &thirty
				if err := meta.Tracker().Update(gvr, p, ns); err != nil {
					return true, nil, err
				}
				continue
			}
			if err := meta.Tracker().Delete(gvr, ns, p.Name); err != nil {
				return true, nil, err
			}
		}
		return true, nil, nil
	})

	factory := informers.NewSharedInformerFactory(client, 0)
	cc := &controllerContext{client: client, informers: factory, log: slog.New(slog.NewTextHandler(io.Discard, nil)), events: record.NewBroadcaster()}
	c, err := newNamespaceControllerWith(cc, meta, client.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return t0 }
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	factory.Start(runCtx.Done())
	factory.WaitForCacheSync(runCtx.Done())

	if err := c.sync(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []struct {
		gvr      schema.GroupVersionResource
		ns, name string
		gone     bool
	}{
		{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "doomed", "settings", true},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "doomed", "web", true},
		{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "other", "kept", false},
		{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "doomed", "web", false},
	} {
		_, err := meta.Tracker().Get(obj.gvr, obj.ns, obj.name)
		if gone := err != nil; gone != obj.gone {
			t.Errorf("%s %s/%s gone = %v, want %v", obj.gvr.Resource, obj.ns, obj.name, gone, obj.gone)
		}
	}
	got, _ := client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
	if len(got.Spec.Finalizers) != 1 {
		t.Errorf("finalized while a pod is left: finalizers %v", got.Spec.Finalizers)
	}
	var remaining *corev1.NamespaceCondition
	for i := range got.Status.Conditions {
		if got.Status.Conditions[i].Type == corev1.NamespaceContentRemaining {
			remaining = &got.Status.Conditions[i]
		}
	}
	if remaining == nil || remaining.Status != corev1.ConditionTrue || remaining.Message != "Some resources are remaining: pods has 1 resource instances" {
		t.Errorf("NamespaceContentRemaining = %+v", remaining)
	}

	// The kubelet finishes the pod: the next pass finalizes the namespace.
	if err := meta.Tracker().Delete(schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "doomed", "web"); err != nil {
		t.Fatal(err)
	}
	if err := c.sync(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	var finalized *corev1.Namespace
	for _, a := range client.Actions() {
		if u, ok := a.(clienttesting.UpdateAction); ok && a.GetSubresource() == "finalize" {
			finalized = u.GetObject().(*corev1.Namespace)
		}
	}
	if finalized == nil || len(finalized.Spec.Finalizers) != 0 {
		t.Errorf("finalize call = %+v, want one with no finalizers", finalized)
	}
}

var allTestVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}
