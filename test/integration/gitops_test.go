package integration

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/sync"
)

// gitRepo is a work-tree repository in a temp dir that tests commit to.
type gitRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newGitRepo(t *testing.T) *gitRepo {
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	return &gitRepo{t: t, dir: dir, repo: repo}
}

// commit writes files (an empty body deletes the file) and commits them.
func (g *gitRepo) commit(msg string, files map[string]string) string {
	g.t.Helper()
	wt, _ := g.repo.Worktree()
	for name, body := range files {
		p := filepath.Join(g.dir, name)
		if body == "" {
			if _, err := wt.Remove(name); err != nil {
				g.t.Fatal(err)
			}
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			g.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			g.t.Fatal(err)
		}
	}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Now()}})
	if err != nil {
		g.t.Fatal(err)
	}
	return h.String()
}

// startSync runs a sync controller against the shared server until the test ends.
func startSync(t *testing.T) *sync.Controller {
	ctrl, err := sync.New(sync.Options{Config: shared.Config, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ctrl.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return ctrl
}

// createSource creates a GitSource following repo at path.
func createSource(t *testing.T, ns, name, url, path string, mutate func(*berthv1.GitSource)) {
	gs := &berthv1.GitSource{
		TypeMeta:   metav1.TypeMeta{APIVersion: "berth.dev/v1alpha1", Kind: "GitSource"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       berthv1.GitSourceSpec{URL: url, Branch: "main", Path: path, Interval: &metav1.Duration{Duration: time.Second}},
	}
	if mutate != nil {
		mutate(gs)
	}
	m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(gs)
	dyn := dynamic.NewForConfigOrDie(shared.Config)
	if _, err := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(ns).Create(ctx(t), &unstructured.Unstructured{Object: m}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// sourceStatus reads a GitSource's status.
func sourceStatus(t *testing.T, ns, name string) berthv1.GitSourceStatus {
	dyn := dynamic.NewForConfigOrDie(shared.Config)
	u, err := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(ns).Get(ctx(t), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var gs berthv1.GitSource
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &gs)
	return gs.Status
}

// waitApplied waits until the source has applied rev (or failed on it, with failed).
func waitApplied(t *testing.T, ns, name, rev string, failed bool) berthv1.GitSourceStatus {
	t.Helper()
	var st berthv1.GitSourceStatus
	eventually(t, 20*time.Second, "source at "+rev[:8], func() bool {
		st = sourceStatus(t, ns, name)
		if failed {
			return st.Revision == rev && st.Phase == sync.PhaseFailed
		}
		// Progressing: applied, but a Deployment without controllers never becomes available.
		return st.AppliedRevision == rev && (st.Phase == sync.PhaseSynced || st.Phase == sync.PhaseProgressing)
	})
	return st
}

const gitDeploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "IMAGE"}]
`

// TestGitOpsLoop: commits to a real git repository reach the API server through a
// GitSource: create, update, prune, rename, a broken commit that changes nothing and
// names file:line, recovery, and a hand scale the manifest does not set is kept.
func TestGitOpsLoop(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	repo := newGitRepo(t)
	deploy := func(image string) string {
		return strings.ReplaceAll(strings.ReplaceAll(gitDeploy, "NS", ns), "IMAGE", image)
	}
	cm := func(name, msg string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\ndata: {message: \"" + msg + "\"}\n"
	}
	rev := repo.commit("three files", map[string]string{
		"deploy/web.yaml": deploy("hello:1"), "deploy/config.yaml": cm("cfg", "hello"), "deploy/extra.yaml": cm("extra", "x"),
		"README.md": "# app\n",
	})
	ctrl := startSync(t)
	createSource(t, ns, "app", repo.dir, "deploy", nil)
	st := waitApplied(t, ns, "app", rev, false)
	if len(st.Objects) != 3 || st.RevisionMessage != "three files" || st.Timings == nil || st.LastSyncTime == nil {
		t.Errorf("status after the first sync: %+v", st)
	}
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	if got, err := cms.Get(c, "cfg", metav1.GetOptions{}); err != nil || got.Labels[sync.SourceLabel] != "app" {
		t.Fatalf("configmap from git: %v", err)
	}

	rev = repo.commit("edit, delete, rename", map[string]string{
		"deploy/config.yaml": cm("cfg", "changed"), "deploy/extra.yaml": "", "deploy/renamed.yaml": cm("renamed", "r"),
	})
	ctrl.Trigger(ns, "app")
	waitApplied(t, ns, "app", rev, false)
	if got, _ := cms.Get(c, "cfg", metav1.GetOptions{}); got.Data["message"] != "changed" {
		t.Errorf("edited configmap: %v", got.Data)
	}
	if _, err := cms.Get(c, "extra", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deleted file's configmap: %v, want pruned", err)
	}
	if _, err := cms.Get(c, "renamed", metav1.GetOptions{}); err != nil {
		t.Errorf("renamed configmap: %v", err)
	}

	// A hand scale survives the next revision, since the manifest sets no replicas.
	deps := shared.Client.AppsV1().Deployments(ns)
	sc, _ := deps.GetScale(c, "web", metav1.GetOptions{})
	sc.Spec.Replicas = 3
	if _, err := deps.UpdateScale(c, "web", sc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rev = repo.commit("new image", map[string]string{"deploy/web.yaml": deploy("hello:2")})
	ctrl.Trigger(ns, "app")
	waitApplied(t, ns, "app", rev, false)
	d, _ := deps.Get(c, "web", metav1.GetOptions{})
	if d.Spec.Template.Spec.Containers[0].Image != "hello:2" || *d.Spec.Replicas != 3 {
		t.Errorf("after a new image: image %s replicas %d, want hello:2 and the hand-set 3", d.Spec.Template.Spec.Containers[0].Image, *d.Spec.Replicas)
	}

	// One broken file: nothing of the commit is applied, the status names file:line.
	good := rev
	bad := repo.commit("broken", map[string]string{
		"deploy/config.yaml": cm("cfg", "from the broken commit"),
		"deploy/bad.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: " + ns + "}\ndata:\n  a: 1\n",
	})
	ctrl.Trigger(ns, "app")
	st = waitApplied(t, ns, "app", bad, true)
	if st.AppliedRevision != good || len(st.Errors) == 0 || !strings.Contains(st.Errors[0], "deploy/bad.yaml:") {
		t.Fatalf("status of a broken commit: applied %s errors %v", st.AppliedRevision, st.Errors)
	}
	if got, _ := cms.Get(c, "cfg", metav1.GetOptions{}); got.Data["message"] != "changed" {
		t.Errorf("a broken commit changed cfg to %q", got.Data["message"])
	}
	fixed := repo.commit("fixed", map[string]string{"deploy/bad.yaml": ""})
	ctrl.Trigger(ns, "app")
	waitApplied(t, ns, "app", fixed, false)
	if got, _ := cms.Get(c, "cfg", metav1.GetOptions{}); got.Data["message"] != "from the broken commit" {
		t.Errorf("after the fix cfg is %q", got.Data["message"])
	}
}

// TestGitOpsTwoSources: two sources in two repositories each prune only their own
// objects, and neither takes over the other's.
func TestGitOpsTwoSources(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\n"
	}
	a, b := newGitRepo(t), newGitRepo(t)
	ra := a.commit("a", map[string]string{"a.yaml": cm("from-a") + "---\n" + cm("a-only")})
	rb := b.commit("b", map[string]string{"b.yaml": cm("from-b")})
	ctrl := startSync(t)
	createSource(t, ns, "a", a.dir, ".", nil)
	createSource(t, ns, "b", b.dir, ".", nil)
	waitApplied(t, ns, "a", ra, false)
	waitApplied(t, ns, "b", rb, false)
	ra = a.commit("a drops a-only", map[string]string{"a.yaml": cm("from-a")})
	ctrl.Trigger(ns, "a")
	waitApplied(t, ns, "a", ra, false)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Get(c, "a-only", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a-only: %v, want pruned", err)
	}
	if _, err := cms.Get(c, "from-b", metav1.GetOptions{}); err != nil {
		t.Errorf("b's object after a's prune: %v", err)
	}
	rb = b.commit("b claims a's object", map[string]string{"b.yaml": cm("from-b") + "---\n" + cm("from-a")})
	ctrl.Trigger(ns, "b")
	st := waitApplied(t, ns, "b", rb, true)
	if !strings.Contains(strings.Join(st.Errors, "\n"), `owned by source "`+ns+`/a"`) {
		t.Errorf("takeover errors: %v", st.Errors)
	}
}

// TestGitOpsWebhook: a push webhook with a valid signature syncs the source at once;
// one with a bad or missing signature gets 401 and syncs nothing.
func TestGitOpsWebhook(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: ns}, Data: map[string][]byte{"token": []byte("s3cret")}}
	if _, err := shared.Client.CoreV1().Secrets(ns).Create(c, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	repo := newGitRepo(t)
	cm := func(v string) map[string]string {
		return map[string]string{"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: " + ns + "}\ndata: {v: \"" + v + "\"}\n"}
	}
	first := repo.commit("first", cm("1"))
	ctrl := startSync(t)
	createSource(t, ns, "hooked", repo.dir, ".", func(gs *berthv1.GitSource) {
		gs.Spec.Interval = &metav1.Duration{Duration: time.Hour} // only the webhook syncs after the first time
		gs.Spec.WebhookSecretRef = &berthv1.LocalObjectReference{Name: "hook"}
	})
	waitApplied(t, ns, "hooked", first, false)
	second := repo.commit("second", cm("2"))
	hook := httptest.NewServer(ctrl.WebhookHandler())
	defer hook.Close()
	payload := []byte(`{"ref":"refs/heads/main","after":"` + second + `"}`)
	post := func(header, value string) int {
		req, _ := http.NewRequest("POST", hook.URL+sync.WebhookPath+ns+"/hooked", bytes.NewReader(payload))
		if header != "" {
			req.Header.Set(header, value)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(payload)
	for _, bad := range [][2]string{{"", ""}, {"X-Hub-Signature-256", "sha256=00"}, {"X-Gitlab-Token", "guess"}} {
		if code := post(bad[0], bad[1]); code != http.StatusUnauthorized {
			t.Errorf("webhook with %q: %d, want 401", bad[0], code)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if st := sourceStatus(t, ns, "hooked"); st.Revision == second {
		t.Fatal("a refused webhook synced the source")
	}
	if code := post("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil))); code != http.StatusAccepted {
		t.Fatalf("signed webhook: %d, want 202", code)
	}
	waitApplied(t, ns, "hooked", second, false)
}

// TestGitOpsDrift: a change made outside git to a managed object is seen through the
// watch and undone within seconds (no interval or trigger needed), reported with its
// field paths and an event; with selfHeal off it is reported and the source is
// OutOfSync instead.
func TestGitOpsDrift(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	repo := newGitRepo(t)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\ndata: {v: git}\n"
	}
	rev := repo.commit("two", map[string]string{"heal/cm.yaml": cm("healed"), "keep/cm.yaml": cm("kept")})
	startSync(t)
	long := &metav1.Duration{Duration: time.Hour}
	createSource(t, ns, "heal", repo.dir, ".", func(gs *berthv1.GitSource) {
		gs.Spec.Interval = long
		gs.Spec.Path = "heal"
	})
	waitApplied(t, ns, "heal", rev, false)
	no := false
	createSource(t, ns, "keep", repo.dir, ".", func(gs *berthv1.GitSource) {
		gs.Spec.Interval = long
		gs.Spec.SelfHeal = &no
		gs.Spec.Path = "keep"
	})
	waitApplied(t, ns, "keep", rev, false)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	for _, name := range []string{"healed", "kept"} {
		got, _ := cms.Get(c, name, metav1.GetOptions{})
		got.Data["v"] = "by hand"
		if _, err := cms.Update(c, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	eventually(t, 10*time.Second, "drift undone", func() bool {
		got, _ := cms.Get(c, "healed", metav1.GetOptions{})
		return got.Data["v"] == "git"
	})
	t.Logf("drift undone in %s", time.Since(start).Round(time.Millisecond))
	// The status is written just after the apply that undid the drift.
	var st berthv1.GitSourceStatus
	eventually(t, 10*time.Second, "healed drift in status", func() bool {
		st = sourceStatus(t, ns, "heal")
		return len(st.Objects) == 1 && strings.Join(st.Objects[0].Drift, ",") == "data.v"
	})
	eventually(t, 10*time.Second, "keep OutOfSync", func() bool { return sourceStatus(t, ns, "keep").Phase == sync.PhaseOutOfSync })
	st = sourceStatus(t, ns, "keep")
	if len(st.Objects) != 1 || st.Objects[0].State != sync.StateOutOfSync || strings.Join(st.Objects[0].Drift, ",") != "data.v" {
		t.Errorf("reported drift: %+v", st.Objects)
	}
	if got, _ := cms.Get(c, "kept", metav1.GetOptions{}); got.Data["v"] != "by hand" {
		t.Errorf("selfHeal off, yet the change was undone")
	}
	evs, _ := shared.Client.CoreV1().Events(ns).List(c, metav1.ListOptions{})
	reasons := map[string]bool{}
	for _, e := range evs.Items {
		reasons[e.Reason] = true
	}
	if !reasons["DriftHealed"] || !reasons["DriftDetected"] {
		t.Errorf("events %v, want DriftHealed and DriftDetected", reasons)
	}
}

// TestGitOpsDriftBranch: with driftBranch set, drift is committed to that branch of
// the origin repository, on top of the applied revision, by the configured author:
// the file that declared the drifted object holds it as it is live, and the file's
// other objects as git has them.
func TestGitOpsDriftBranch(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	repo := newGitRepo(t)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\ndata: {v: git}\n"
	}
	rev := repo.commit("two in one file", map[string]string{"app/cms.yaml": cm("a") + "---\n" + cm("b")})
	startSync(t)
	no := false
	createSource(t, ns, "reported", repo.dir, "app", func(gs *berthv1.GitSource) {
		gs.Spec.Interval = &metav1.Duration{Duration: time.Hour}
		gs.Spec.SelfHeal = &no
		gs.Spec.DriftBranch = "berth-drift"
		gs.Spec.DriftAuthor = &berthv1.CommitAuthor{Name: "Drift Bot", Email: "drift@example.com"}
	})
	waitApplied(t, ns, "reported", rev, false)
	cms := shared.Client.CoreV1().ConfigMaps(ns)
	got, _ := cms.Get(c, "b", metav1.GetOptions{})
	got.Data["v"] = "by hand"
	if _, err := cms.Update(c, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var commit *object.Commit
	eventually(t, 15*time.Second, "a drift commit on berth-drift", func() bool {
		ref, err := repo.repo.Reference(plumbing.NewBranchReferenceName("berth-drift"), true)
		if err != nil {
			return false
		}
		commit, err = repo.repo.CommitObject(ref.Hash())
		return err == nil
	})
	if commit.Author.Name != "Drift Bot" || len(commit.ParentHashes) != 1 || commit.ParentHashes[0].String() != rev {
		t.Errorf("drift commit by %q with parents %v, want Drift Bot on %s", commit.Author.Name, commit.ParentHashes, rev[:8])
	}
	if !strings.Contains(commit.Message, "ConfigMap "+ns+"/b: data.v") {
		t.Errorf("drift commit message %q", commit.Message)
	}
	f, err := commit.File("app/cms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := f.Contents()
	if !strings.Contains(body, "v: by hand") || !strings.Contains(body, "v: git") || strings.Contains(body, "resourceVersion") || strings.Contains(body, sync.LastAppliedAnnotation) {
		t.Errorf("drift report file:\n%s", body)
	}
}

// TestGitOpsRestart: after the API server and sync restart on the same data dir, the
// source resumes at its recorded revision (nothing re-created, no duplicates or
// orphans) and goes on with the next commit.
func TestGitOpsRestart(t *testing.T) {
	dir := t.TempDir()
	ts := testserver.Start(t, apiserver.Options{DataDir: dir})
	ns := testNamespace(t, ts)
	c := ctx(t)
	repo := newGitRepo(t)
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\n"
	}
	run := func(ts *testserver.Server) context.CancelFunc {
		ctrl, err := sync.New(sync.Options{Config: ts.Config, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = ctrl.Run(ctx) }()
		return func() { cancel(); <-done }
	}
	status := func(ts *testserver.Server) berthv1.GitSourceStatus {
		u, err := dynamic.NewForConfigOrDie(ts.Config).Resource(registry.GitSources().GroupVersionResource()).Namespace(ns).Get(c, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var gs berthv1.GitSource
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &gs)
		return gs.Status
	}
	first := repo.commit("first", map[string]string{"a.yaml": cm("a") + "---\n" + cm("b")})
	stop := run(ts)
	gs := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "berth.dev/v1alpha1", "kind": "GitSource",
		"metadata": map[string]interface{}{"name": "app", "namespace": ns},
		"spec":     map[string]interface{}{"url": repo.dir, "interval": "1s"},
	}}
	if _, err := dynamic.NewForConfigOrDie(ts.Config).Resource(registry.GitSources().GroupVersionResource()).Namespace(ns).Create(c, gs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "first revision", func() bool { return status(ts).AppliedRevision == first })
	before, _ := ts.Client.CoreV1().ConfigMaps(ns).Get(c, "a", metav1.GetOptions{})
	stop()
	ts.Stop()

	ts = testserver.Start(t, apiserver.Options{DataDir: dir})
	second := repo.commit("second", map[string]string{"a.yaml": cm("a") + "---\n" + cm("c")})
	stop = run(ts)
	defer stop()
	eventually(t, 20*time.Second, "second revision after the restart", func() bool { return status(ts).AppliedRevision == second })
	after, err := ts.Client.CoreV1().ConfigMaps(ns).Get(c, "a", metav1.GetOptions{})
	if err != nil || after.UID != before.UID {
		t.Errorf("configmap a after the restart: %v (uid %s, was %s): it must not be re-created", err, after.UID, before.UID)
	}
	l, _ := ts.Client.CoreV1().ConfigMaps(ns).List(c, metav1.ListOptions{LabelSelector: sync.SourceLabel + "=app"})
	var names []string
	for _, cm := range l.Items {
		names = append(names, cm.Name)
	}
	if strings.Join(names, ",") != "a,c" {
		t.Errorf("objects of the source after the restart: %v, want a and c (b pruned, nothing twice)", names)
	}
}
