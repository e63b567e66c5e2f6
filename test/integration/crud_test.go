package integration

import (
	"bytes"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// loadObjects reads a multi-document YAML file into unstructured objects.
func loadObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*unstructured.Unstructured
	for _, doc := range bytes.Split(data, []byte("\n---\n")) {
		var m map[string]interface{}
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
	return out
}

// TestCRUDEveryKind creates, reads, lists, patches, updates and deletes one object of
// every kind through client-go's dynamic client, with resources found by discovery.
func TestCRUDEveryKind(t *testing.T) {
	ns := testNamespace(t, shared)
	dyn := dynamic.NewForConfigOrDie(shared.Config)
	dc := discovery.NewDiscoveryClientForConfigOrDie(shared.Config)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	c := ctx(t)
	objs := loadObjects(t, "testdata/kinds.yaml")
	if len(objs) != 15 {
		t.Fatalf("fixtures: %d objects, want one of each of the 15 kinds", len(objs))
	}
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		t.Run(gvk.Kind, func(t *testing.T) {
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatalf("discovery has no %s: %v", gvk, err)
			}
			var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if gvk.Kind == "Namespace" || gvk.Kind == "Node" {
				obj.SetName(obj.GetName() + "-" + ns) // unique per run: a deleted namespace lingers as Terminating
			}
			if m.Scope.Name() == meta.RESTScopeNameNamespace {
				obj.SetNamespace(ns)
				if gvk.Kind == "Event" {
					_ = unstructured.SetNestedField(obj.Object, ns, "involvedObject", "namespace")
				}
				ri = dyn.Resource(m.Resource).Namespace(ns)
			}
			created, err := ri.Create(c, obj, metav1.CreateOptions{})
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			if created.GetUID() == "" || created.GetResourceVersion() == "" || created.GetCreationTimestamp().Time.IsZero() {
				t.Errorf("create did not set uid, resourceVersion and creationTimestamp: %v", created.Object["metadata"])
			}
			got, err := ri.Get(c, obj.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if got.GetResourceVersion() != created.GetResourceVersion() {
				t.Errorf("get resourceVersion %s, created %s", got.GetResourceVersion(), created.GetResourceVersion())
			}
			list, err := ri.List(c, metav1.ListOptions{FieldSelector: "metadata.name=" + obj.GetName()})
			if err != nil || len(list.Items) != 1 {
				t.Fatalf("list by name: %v items, err %v", len(list.Items), err)
			}
			patched, err := ri.Patch(c, obj.GetName(), types.MergePatchType, []byte(`{"metadata":{"labels":{"patched":"yes"}}}`), metav1.PatchOptions{})
			if err != nil || patched.GetLabels()["patched"] != "yes" {
				t.Fatalf("merge patch: %v, labels %v", err, patched.GetLabels())
			}
			patched.SetAnnotations(map[string]string{"updated": "yes"})
			updated, err := ri.Update(c, patched, metav1.UpdateOptions{})
			if err != nil || updated.GetAnnotations()["updated"] != "yes" {
				t.Fatalf("update: %v", err)
			}
			if _, err := ri.Update(c, patched, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
				t.Errorf("stale update: got %v, want 409 Conflict", err)
			}
			if err := ri.Delete(c, obj.GetName(), metav1.DeleteOptions{}); err != nil {
				t.Fatalf("delete: %v", err)
			}
			if gvk.Kind == "Namespace" {
				// A namespace turns Terminating until its content is gone (the namespace controller's work).
				got, err := ri.Get(c, obj.GetName(), metav1.GetOptions{})
				if err != nil {
					t.Fatalf("get deleted namespace: %v", err)
				}
				if got.GetDeletionTimestamp() == nil {
					t.Fatalf("deleted namespace has no deletionTimestamp: %v", got.Object)
				}
				return
			}
			if _, err := ri.Get(c, obj.GetName(), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("get after delete: %v, want 404", err)
			}
		})
	}
}

// TestDiscovery checks that every kind is discoverable with its short names.
func TestDiscovery(t *testing.T) {
	dc := discovery.NewDiscoveryClientForConfigOrDie(shared.Config)
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, l := range lists {
		for _, r := range l.APIResources {
			gv, _ := schema.ParseGroupVersion(l.GroupVersion)
			found[gv.WithResource(r.Name).String()] = true
		}
	}
	for _, want := range []string{"/v1, Resource=pods", "/v1, Resource=pods/status", "/v1, Resource=pods/binding",
		"apps/v1, Resource=deployments", "batch/v1, Resource=jobs", "berth.dev/v1alpha1, Resource=gitsources",
		"discovery.k8s.io/v1, Resource=endpointslices", "coordination.k8s.io/v1, Resource=leases"} {
		if !found[want] {
			t.Errorf("discovery lacks %s", want)
		}
	}
	v, err := dc.ServerVersion()
	if err != nil || !strings.HasPrefix(v.GitVersion, "v1.") {
		t.Errorf("version: %v %v", v, err)
	}
}
