package manifests

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/apiserver/registry"
)

func TestObjectIDString(t *testing.T) {
	for _, tc := range []struct {
		id   ObjectID
		want string
	}{
		{ObjectID{Group: "apps", Kind: "Deployment", Namespace: "default", Name: "web"}, "apps/Deployment default/web"},
		{ObjectID{Kind: "Service", Namespace: "default", Name: "web"}, "Service default/web"},
		{ObjectID{Kind: "Namespace", Name: "prod"}, "Namespace prod"},
	} {
		if got := tc.id.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.id, got, tc.want)
		}
	}
}

func TestErrorString(t *testing.T) {
	errs := Errors{
		{File: "b.yaml", Line: 3, Message: "m3"},
		{File: "a.yaml", Line: 12, Object: "Deployment default/web", Field: "spec.replicas", Message: "Invalid value: -1"},
		{File: "a.yaml", Message: "file too large"},
	}
	errs.sort()
	want := "a.yaml: file too large\n" +
		"a.yaml:12: Deployment default/web: spec.replicas: Invalid value: -1\n" +
		"b.yaml:3: m3"
	if got := errs.Error(); got != want {
		t.Errorf("Errors.Error() =\n%s\nwant\n%s", got, want)
	}
}

// loadString loads one file and fails the test on errors.
func loadString(t *testing.T, files map[string]string) []*Object {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, data := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	objs, err := LoadFS(fsys, Options{DefaultNamespace: "apps", KnownNamespaces: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestObjectNotDefaulted checks that Obj is the typed object as written (only
// the namespace filled in) and Raw the document as JSON.
func TestObjectNotDefaulted(t *testing.T) {
	objs := loadString(t, map[string]string{"web.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {note: "a<b"}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
`})
	d, ok := objs[0].Obj.(*appsv1.Deployment)
	if !ok {
		t.Fatalf("Obj is %T, want *appsv1.Deployment", objs[0].Obj)
	}
	if d.Spec.Replicas != nil || d.Spec.Strategy.Type != "" || d.Spec.Template.Spec.RestartPolicy != "" {
		t.Errorf("Obj was defaulted: replicas %v, strategy %q, restartPolicy %q",
			d.Spec.Replicas, d.Spec.Strategy.Type, d.Spec.Template.Spec.RestartPolicy)
	}
	if d.Namespace != "apps" || d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		t.Errorf("Obj namespace %q, apiVersion %q, kind %q; want apps, apps/v1, Deployment", d.Namespace, d.APIVersion, d.Kind)
	}
	want := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{"note":"a<b"},"name":"web","namespace":"apps"},` +
		`"spec":{"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx","name":"web"}]}}}}`
	if diff := cmp.Diff(want, string(objs[0].Raw)); diff != "" {
		t.Errorf("Raw differs (-want +got):\n%s", diff)
	}
}

// TestKustomizeOutput checks that kustomize's transformations reach the objects.
func TestKustomizeOutput(t *testing.T) {
	objs := loadString(t, map[string]string{
		"k/kustomization.yaml": "resources: [pod.yaml]\nimages: [{name: nginx, newTag: \"1.27\"}]\nnamespace: shop\n",
		"k/pod.yaml":           "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: nginx}]}\n",
	})
	p := objs[0].Obj.(*corev1.Pod)
	if p.Namespace != "shop" || p.Spec.Containers[0].Image != "nginx:1.27" {
		t.Errorf("pod namespace %q image %q, want shop and nginx:1.27", p.Namespace, p.Spec.Containers[0].Image)
	}
	if objs[0].File != "k/kustomization.yaml" || objs[0].Line != 1 {
		t.Errorf("pod at %s:%d, want k/kustomization.yaml:1", objs[0].File, objs[0].Line)
	}
}

func TestOrder(t *testing.T) {
	var docs []string
	for _, kind := range []string{"apps/v1 Deployment", "v1 Pod", "berth.dev/v1alpha1 GitSource", "v1 Service",
		"v1 Secret", "batch/v1 Job", "v1 ConfigMap", "v1 ServiceAccount", "coordination.k8s.io/v1 Lease", "v1 Namespace"} {
		apiVersion, k, _ := strings.Cut(kind, " ")
		docs = append(docs, "apiVersion: "+apiVersion+"\nkind: "+k+"\nmetadata: {name: x}\n")
	}
	fsys := fstest.MapFS{"all.yaml": {Data: []byte(strings.Join(docs, "---\n"))}}
	// Validation is beside the point here: read the objects through decode alone.
	l := &loader{fsys: fsys, opts: Options{DefaultNamespace: "default"}, root: ".", kinds: registry.All()}
	if err := l.walk(); err != nil {
		t.Fatal(err)
	}
	var objs []*Object
	for _, o := range l.objs {
		objs = append(objs, o.Object)
	}
	var got []string
	for _, o := range Order(objs) {
		got = append(got, o.Kind.Kind)
	}
	want := []string{"Namespace", "ServiceAccount", "Secret", "ConfigMap", "Service", "Deployment", "Pod", "Job", "GitSource", "Lease"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Order differs (-want +got):\n%s", diff)
	}
	if objs[0].Kind.Kind != "Deployment" {
		t.Errorf("Order modified its argument")
	}
}
