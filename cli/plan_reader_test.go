package cli

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// TestPlanReader: the plan's client refuses every write before it leaves the
// process, and reads a resource the token may not read as empty, remembering it.
// (A fake client, for the one fault the real server would not show: that no
// request is sent at all.)
func TestPlanReader(t *testing.T) {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	cms := schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	fake := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		secrets: "SecretList", cms: "ConfigMapList",
	})
	fake.PrependReactor("*", "secrets", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(secrets.GroupResource(), "", errors.New("no"))
	})
	r := newPlanReader(fake)
	ctx := context.Background()
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("ConfigMap")
	u.SetName("x")
	cm := r.Resource(cms).Namespace("default")
	for name, write := range map[string]func() error{
		"create": func() error { _, err := cm.Create(ctx, u, metav1.CreateOptions{}); return err },
		"update": func() error { _, err := cm.Update(ctx, u, metav1.UpdateOptions{}); return err },
		"status": func() error { _, err := cm.UpdateStatus(ctx, u, metav1.UpdateOptions{}); return err },
		"patch": func() error {
			_, err := cm.Patch(ctx, "x", "application/merge-patch+json", []byte("{}"), metav1.PatchOptions{})
			return err
		},
		"apply":  func() error { _, err := cm.Apply(ctx, "x", u, metav1.ApplyOptions{}); return err },
		"delete": func() error { return cm.Delete(ctx, "x", metav1.DeleteOptions{}) },
		"deletecollection": func() error {
			return r.Resource(cms).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
		},
	} {
		if err := write(); !errors.Is(err, errPlanWrites) {
			t.Errorf("%s: %v, want %v", name, err, errPlanWrites)
		}
	}
	if n := len(fake.Actions()); n != 0 {
		t.Errorf("%d requests reached the client: %v", n, fake.Actions())
	}

	l, err := r.Resource(secrets).List(ctx, metav1.ListOptions{})
	if err != nil || len(l.Items) != 0 {
		t.Errorf("list of a forbidden resource: %v, %v; want empty", l, err)
	}
	if _, err := r.Resource(secrets).Namespace("default").Get(ctx, "db", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("get of a forbidden resource: %v, want not found", err)
	}
	if got := r.Unreadable(); len(got) != 1 || got[0] != secrets.GroupResource() {
		t.Errorf("unreadable: %v", got)
	}
	if _, err := r.Resource(cms).List(ctx, metav1.ListOptions{}); err != nil || r.isUnreadable(cms.GroupResource()) {
		t.Errorf("a readable resource: %v", err)
	}
}
