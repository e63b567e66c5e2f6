package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/manifests"
	"github.com/berth-dev/berth/sync"
	"github.com/berth-dev/berth/test/hollow"
)

// planTestCluster is an API server with hollow nodes, each already running a
// pod that takes some of its CPU, so that node-0, node-1 and node-2 have 1.5,
// 1.2 and 0.8 CPU free; node-2 is labelled disk=ssd.
type planTestCluster struct {
	*testserver.Server
	dyn dynamic.Interface
	ctx context.Context
}

func startPlanCluster(t *testing.T) *planTestCluster {
	t.Helper()
	ts := testserver.Start(t, apiserver.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	fleet := hollow.NewFleet(ts.Client)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fleet.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	for i, n := range []struct {
		cpu, used string
		labels    map[string]string
	}{{"2", "500m", nil}, {"2", "800m", nil}, {"1", "200m", map[string]string{"disk": "ssd"}}} {
		name := fmt.Sprintf("node-%d", i)
		_, err := fleet.Add(ctx, hollow.Options{Name: name, Labels: n.labels, Capacity: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse(n.cpu), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110"),
		}})
		if err != nil {
			t.Fatal(err)
		}
		busy := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "busy-" + name, Namespace: "default", Labels: map[string]string{"app": "busy"}},
			Spec: corev1.PodSpec{NodeName: name, Containers: []corev1.Container{{Name: "busy", Image: "busy:1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(n.used)}}}}},
		}
		if _, err := ts.Client.CoreV1().Pods("default").Create(ctx, busy, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dyn, err := dynamic.NewForConfig(ts.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &planTestCluster{Server: ts, dyn: dyn, ctx: ctx}
}

// sync applies a commit of the repository as the GitSource kube-system/default
// (which it creates) would, with the sync's own plan and apply.
func (c *planTestCluster) sync(t *testing.T, r *planRepo, rev string) {
	t.Helper()
	src := sync.Source{Namespace: "kube-system", Name: "default"}
	gs := &unstructured.Unstructured{}
	gs.SetGroupVersionKind(registry.GitSources().GroupVersionKind())
	gs.SetNamespace(src.Namespace)
	gs.SetName(src.Name)
	unstructured.SetNestedField(gs.Object, r.dir, "spec", "url")
	unstructured.SetNestedField(gs.Object, ".", "spec", "path")
	_, err := c.dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(src.Namespace).Create(c.ctx, gs, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Load(r.repo, *h, manifests.Options{KnownNamespaces: func(ns string) bool { return ns == "default" }})
	if err != nil {
		t.Fatal(err)
	}
	desired, err := planDesired(manifests.Order(objs))
	if err != nil {
		t.Fatal(err)
	}
	live, err := sync.LiveState(c.ctx, c.dyn, src, desired)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := sync.Plan(src, desired, live)
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range sync.Apply(c.ctx, c.dyn, actions) {
		if res.Err != nil {
			t.Fatalf("apply %s: %v", res.Action.ID, res.Err)
		}
	}
}

// edit changes a live object outside git with a JSON merge patch.
func (c *planTestCluster) edit(t *testing.T, k *registry.Kind, ns, name, patch string) {
	t.Helper()
	_, err := c.dyn.Resource(k.GroupVersionResource()).Namespace(ns).Patch(c.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// Manifests of the cluster tests.
const (
	planWebSmall = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1
        resources:
          requests: {cpu: 100m}
`
	planWebBig = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:2
        resources:
          requests: {cpu: "2"}
`
	planAgent = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      nodeSelector: {disk: ssd}
      containers:
      - name: agent
        image: agent:1
        resources:
          limits: {cpu: 1000m} # the server stores "1": no change once synced
`
)

// TestPlanCluster plans a branch against main and against a live cluster it
// was synced to, with the readonly token: an update, a create, a prune, the
// drift made by hand, Secrets that the token may not read, a Deployment whose
// pods do not fit and a DaemonSet whose one node has too little CPU.
func TestPlanCluster(t *testing.T) {
	c := startPlanCluster(t)
	r := newPlanRepo(t)
	r.commit("first", map[string]string{
		"apps/web.yaml":    planWebSmall,
		"apps/config.yaml": planConfigV1,
		"apps/old.yaml":    planOld,
		"apps/secret.yaml": planSecretV1,
	})
	c.sync(t, r, "main")
	c.edit(t, registry.ConfigMaps(), "default", "web-config", `{"data":{"message":"hacked"}}`)
	c.edit(t, registry.Deployments(), "default", "web", `{"spec":{"replicas":2}}`)
	r.branch("feature")
	r.commit("Bigger web, an agent on every node", map[string]string{
		"apps/web.yaml":     planWebBig,
		"apps/old.yaml":     "",
		"apps/secret.yaml":  planSecretV2,
		"apps/service.yaml": planService,
		"apps/agent.yaml":   planAgent,
	})

	readonly := c.RESTConfig(auth.RoleReadonly)
	_, err := c.ClientFor(auth.RoleReadonly).CoreV1().ConfigMaps("default").Create(c.ctx,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("a write with the readonly token: %v, want 403", err)
	}
	rep, err := Plan(c.ctx, PlanOptions{Repo: r.dir, Base: "main", Head: "feature", Config: readonly})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != PlanExitChanges {
		t.Errorf("exit code %d, want %d", rep.ExitCode, PlanExitChanges)
	}
	got := map[string]string{}
	for _, o := range rep.Sync {
		got[o.ID()] = o.Action
	}
	want := map[string]string{
		"apps/Deployment default/web": PlanUpdate, "ConfigMap default/web-config": PlanUpdate,
		"ConfigMap default/old": PlanDelete, "Service default/web": PlanCreate,
		"Secret default/db": PlanUnreadable, "apps/DaemonSet default/agent": PlanCreate,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sync plan %v, want %v", got, want)
	}
	if len(rep.Unschedulable) != 2 || !strings.Contains(rep.Unschedulable[1].Message, "3 of 3 pods would not fit: each needs 2 CPU; nodes have 1.5, 1.2, 0.8 CPU free") {
		t.Errorf("unschedulable: %+v", rep.Unschedulable)
	}
	for _, f := range []struct{ format, file string }{{"text", "cluster.txt"}, {"markdown", "cluster.md"}, {"json", ""}} {
		out := renderPlan(t, rep, f.format)
		for _, s := range planSecrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output shows the secret value %q", f.format, s)
			}
		}
		if strings.Contains(out, c.URL()) {
			t.Errorf("%s output shows the server's URL", f.format)
		}
		if f.file != "" {
			checkGolden(t, f.file, out)
		}
	}

	// With a token that may read Secrets, the Secret is compared too, masked.
	rep, err = Plan(c.ctx, PlanOptions{Repo: r.dir, Head: "feature", Config: c.Config})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(rep)
	text := renderPlan(t, rep, "text") + renderPlan(t, rep, "markdown") + string(data)
	for _, s := range planSecrets {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(text, form) {
				t.Errorf("the plan read with the admin token shows the secret value %q", form)
			}
		}
	}
	var secret *PlanObject
	for i, o := range rep.Sync {
		if o.ID() == "Secret default/db" {
			secret = &rep.Sync[i]
		}
	}
	if secret == nil || secret.Action != PlanUpdate || len(secret.Changes) == 0 {
		t.Errorf("the Secret read with the admin token: %+v, want an update", secret)
	}
	// The server folds stringData into data: that is no drift.
	for _, o := range rep.Drift {
		if o.Kind == "Secret" {
			t.Errorf("drift of a Secret that was not changed: %+v", o)
		}
	}

	// Once head is synced and the drift healed, there is nothing left to do.
	c.sync(t, r, "feature")
	rep, err = Plan(c.ctx, PlanOptions{Repo: r.dir, Head: "feature", Config: readonly})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != PlanExitNoChange || len(rep.Sync) != 1 || rep.Sync[0].Action != PlanUnreadable || len(rep.Drift) != 0 {
		t.Errorf("after the sync: exit code %d, sync %+v, drift %+v; want 0, nothing but the unreadable Secret, no drift", rep.ExitCode, rep.Sync, rep.Drift)
	}

	// An object another source owns fails the plan, as it fails the sync.
	taken := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "taken", Namespace: "default",
		Labels:      map[string]string{sync.SourceLabel: "other", sync.SourceNamespaceLabel: "kube-system"},
		Annotations: map[string]string{sync.LastAppliedAnnotation: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"taken","namespace":"default"}}`}}}
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(c.ctx, taken, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.commit("take it", map[string]string{"apps/taken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: taken}\n"})
	rep, err = Plan(c.ctx, PlanOptions{Repo: r.dir, Config: readonly})
	if err != nil {
		t.Fatal(err)
	}
	want0 := `apps/taken.yaml:1: ConfigMap default/taken: owned by source "kube-system/other", not "kube-system/default": remove it from one of the two repositories`
	if rep.ExitCode != PlanExitErrors || len(rep.Errors) != 1 || rep.Errors[0].String() != want0 {
		t.Errorf("an object of another source: exit code %d, errors %v; want 2, %s", rep.ExitCode, rep.Errors, want0)
	}
}
