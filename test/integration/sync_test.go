package integration

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/sync"
)

// revision turns YAML documents into desired objects, as a revision in git would hold.
func revision(t *testing.T, docs ...string) []*sync.Desired {
	t.Helper()
	var out []*sync.Desired
	for i, d := range docs {
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(d), &u.Object); err != nil {
			t.Fatal(err)
		}
		out = append(out, &sync.Desired{Kind: registry.ByGroupVersionKind(u.GroupVersionKind()), Obj: u, File: "app.yaml", Line: 1 + 10*i})
	}
	return out
}

// syncOnce plans a revision against the live cluster, dry-runs it and applies it,
// returning the action types by object.
func syncOnce(t *testing.T, dyn dynamic.Interface, source sync.Source, desired []*sync.Desired) (map[string]sync.ActionType, error) {
	t.Helper()
	c := context.Background()
	live, err := sync.LiveState(c, dyn, source, desired)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := sync.Plan(source, desired, live)
	if err != nil {
		return nil, err
	}
	if err := sync.DryRun(c, dyn, actions); err != nil {
		return nil, err
	}
	got := map[string]sync.ActionType{}
	for _, r := range sync.Apply(c, dyn, actions) {
		if r.Err != nil {
			t.Fatalf("apply %s %s: %v", r.Action.Type, r.Action.ID, r.Err)
		}
		got[r.Action.ID.Kind+"/"+r.Action.ID.Name] = r.Action.Type
	}
	return got, nil
}

// TestSyncPlanApply: a revision is created, a resync changes nothing, a hand scale is
// kept, drift in a field git sets is undone, an object that left git is pruned, and a
// revision the server refuses in its dry run changes nothing at all.
func TestSyncPlanApply(t *testing.T) {
	dyn := dynamic.NewForConfigOrDie(shared.Config)
	c := ctx(t)
	home := testNamespace(t, shared)
	src, other := sync.Source{Namespace: home, Name: "src"}, sync.Source{Namespace: home, Name: "other"}
	ns := "sync-" + home // a namespace the revision itself declares
	nsDoc := `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"` + ns + `"}}`
	cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":"` + ns + `"},"data":{"message":"hello"}}`
	deploy := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ` + ns + `}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "hello:1"}]
`
	got, err := syncOnce(t, dyn, src, revision(t, nsDoc, cm, deploy))
	if err != nil {
		t.Fatal(err)
	}
	if got["Namespace/"+ns] != sync.Create || got["ConfigMap/cfg"] != sync.Create || got["Deployment/web"] != sync.Create {
		t.Fatalf("first sync: %v", got)
	}
	deps := shared.Client.AppsV1().Deployments(ns)
	d, err := deps.Get(c, "web", metav1.GetOptions{})
	if err != nil || d.Labels[sync.SourceLabel] != "src" {
		t.Fatalf("applied deployment: %v %v", err, d.Labels)
	}

	got, _ = syncOnce(t, dyn, src, revision(t, nsDoc, cm, deploy))
	for id, typ := range got {
		if typ != sync.Unchanged {
			t.Errorf("resync of the same revision: %s %s", typ, id)
		}
	}

	sc, _ := deps.GetScale(c, "web", metav1.GetOptions{})
	sc.Spec.Replicas = 4
	if _, err := deps.UpdateScale(c, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, _ = deps.Get(c, "web", metav1.GetOptions{})
	d.Spec.Template.Spec.Containers[0].Image = "evil:1"
	if _, err := deps.Update(c, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ = syncOnce(t, dyn, src, revision(t, nsDoc, cm, deploy))
	if got["Deployment/web"] != sync.Update {
		t.Fatalf("drifted deployment: %v", got)
	}
	d, _ = deps.Get(c, "web", metav1.GetOptions{})
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "hello:1" || *d.Spec.Replicas != 4 {
		t.Errorf("after healing: image %s replicas %d; want hello:1 (git) and 4 (scaled by hand)", img, *d.Spec.Replicas)
	}

	got, _ = syncOnce(t, dyn, src, revision(t, nsDoc, deploy))
	if got["ConfigMap/cfg"] != sync.Delete {
		t.Fatalf("configmap left git: %v", got)
	}
	if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(c, "cfg", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("pruned configmap: %v", err)
	}

	// The server refuses the Service in its dry run: nothing of the revision is applied.
	badSvc := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"` + ns + `"},
		"spec":{"type":"NodePort","ports":[{"port":80,"nodePort":99999}]}}`
	newCM := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"new","namespace":"` + ns + `"}}`
	_, err = syncOnce(t, dyn, src, revision(t, nsDoc, deploy, newCM, badSvc))
	if err == nil || !strings.Contains(err.Error(), "app.yaml:31: Service "+ns+"/s") || !strings.Contains(err.Error(), "nodePort") {
		t.Fatalf("bad revision: %v, want a dry-run error naming app.yaml:31, the Service and nodePort", err)
	}
	if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(c, "new", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a refused revision created configmap new: %v", err)
	}

	// Another source may not take the deployment over.
	if _, err := syncOnce(t, dyn, other, revision(t, deploy)); err == nil || !strings.Contains(err.Error(), `owned by source "`+home+`/src"`) {
		t.Errorf("takeover by another source: %v", err)
	}
}
