package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/go-cmp/cmp"
)

// The -update flag rewrites golden files; it is registered once for the
// package, whichever test file comes first.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

// planUpdateGolden says whether -update was given.
func planUpdateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// planRepo is a git repository in a temporary directory, on branch main.
type planRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newPlanRepo(t *testing.T) *planRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	return &planRepo{t: t, dir: dir, repo: repo}
}

// commit writes files (an empty content removes the file) and commits them,
// at a fixed time so that the hashes are the same on every run.
func (r *planRepo) commit(msg string, files map[string]string) plumbing.Hash {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if data == "" {
			if _, err := wt.Remove(name); err != nil {
				r.t.Fatalf("remove %s: %v", name, err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
		if _, err := wt.Add(name); err != nil {
			r.t.Fatal(err)
		}
	}
	h, err := wt.Commit(msg, &git.CommitOptions{
		Author: &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Unix(1700000000, 0).UTC()},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

// branch creates a branch at HEAD and checks it out.
func (r *planRepo) branch(name string) {
	r.t.Helper()
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(name), Create: true}); err != nil {
		r.t.Fatal(err)
	}
}

// checkGolden compares got with testdata/plan/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "plan", name)
	if planUpdateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), got); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

// renderPlan prints a report in a format.
func renderPlan(t *testing.T, r *PlanReport, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := WritePlan(&b, r, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Manifests of the tests.
const (
	planWebV1 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
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
        image: nginx:1
        ports:
        - containerPort: 80
`
	planWebV2 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 4
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:2
        env:
        - {name: MODE, value: fast}
        ports:
        - containerPort: 80
      - name: log
        image: busybox:1
        args: [tail, -f, /var/log/web.log]
`
	planConfigV1 = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  message: hello
  mode: a
  nginx.conf: |
    server {
      listen 80;
      server_name web;
      location / {
        root /usr/share/nginx/html;
      }
      gzip on;
    }
`
	planConfigV2 = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  labels:
    app.kubernetes.io/name: web
data:
  message: hello, world
  nginx.conf: |
    server {
      listen 8080;
      server_name web;
      location / {
        root /usr/share/nginx/html;
      }
      location /healthz {
        return 200;
      }
      gzip on;
    }
`
	planOld = `apiVersion: v1
kind: ConfigMap
metadata:
  name: old
data:
  gone: "yes"
`
	planSecretV1 = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: hunter2
`
	planSecretV2 = `apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: correct-horse
  user: admin-user
`
	planService = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
`
	planBroken = `apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: api:1
        imagePullPolicy: Sometimes
        ports:
        - containerPortt: 8080
`
)

// planSecrets are values that must never appear in a plan.
var planSecrets = []string{"hunter2", "correct-horse", "admin-user"}

// TestPlanOffline plans a branch against main in a real repository, without a
// cluster: created, changed (field by field) and deleted objects, Secret values
// masked, and the exit status.
func TestPlanOffline(t *testing.T) {
	r := newPlanRepo(t)
	r.commit("first", map[string]string{
		"apps/web.yaml":    planWebV1,
		"apps/config.yaml": planConfigV1,
		"apps/old.yaml":    planOld,
		"apps/secret.yaml": planSecretV1,
		"README.md":        "# apps\n",
	})
	r.branch("feature")
	r.commit("Web 2 with a log sidecar\n\nbody", map[string]string{
		"apps/web.yaml":     planWebV2,
		"apps/config.yaml":  planConfigV2,
		"apps/old.yaml":     "",
		"apps/secret.yaml":  planSecretV2,
		"apps/service.yaml": planService,
	})
	rep, err := Plan(context.Background(), PlanOptions{Repo: r.dir, Base: "main", Head: "feature"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != PlanExitChanges {
		t.Errorf("exit code %d, want %d", rep.ExitCode, PlanExitChanges)
	}
	for _, f := range []struct{ format, file string }{{"text", "offline.txt"}, {"markdown", "offline.md"}, {"json", ""}} {
		out := renderPlan(t, rep, f.format)
		for _, s := range planSecrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output shows the secret value %q", f.format, s)
			}
		}
		if f.file != "" {
			checkGolden(t, f.file, out)
		}
	}
}

// TestPlanOfflineBroken: a head with a bad file fails the plan with exit status 2
// and names file:line, object and field of every problem.
func TestPlanOfflineBroken(t *testing.T) {
	r := newPlanRepo(t)
	r.commit("first", map[string]string{"apps/config.yaml": planConfigV1})
	r.branch("feature")
	r.commit("add the api", map[string]string{"apps/api.yaml": planBroken})
	rep, err := Plan(context.Background(), PlanOptions{Repo: r.dir, Base: "main", Head: "feature"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != PlanExitErrors {
		t.Errorf("exit code %d, want %d", rep.ExitCode, PlanExitErrors)
	}
	text := renderPlan(t, rep, "text")
	for _, want := range []string{
		"apps/api.yaml:20: Deployment default/api: spec.template.spec.containers[0].imagePullPolicy: Unsupported value",
		"apps/api.yaml:22: Deployment default/api: spec.template.spec.containers[0].ports[0].containerPortt: unknown field",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the plan does not say %q:\n%s", want, text)
		}
	}
	checkGolden(t, "broken.txt", text)
	checkGolden(t, "broken.md", renderPlan(t, rep, "markdown"))
}

// TestPlanOfflineNoChange: a commit that changes no manifest plans nothing (exit
// 0), and a base that does not load makes the changes unknown (exit 1).
func TestPlanOfflineNoChange(t *testing.T) {
	r := newPlanRepo(t)
	r.commit("first", map[string]string{"apps/config.yaml": planConfigV1, "README.md": "# a\n"})
	r.commit("docs", map[string]string{"README.md": "# b\n", "apps/config.yaml": strings.Replace(planConfigV1, "\ndata:", "\n# a comment\ndata:", 1)})
	rep, err := Plan(context.Background(), PlanOptions{Repo: r.dir, Base: "HEAD~1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != PlanExitNoChange || len(rep.Git) != 0 || rep.Unchanged != 1 {
		t.Errorf("exit code %d, changes %v, %d unchanged; want 0, none, 1", rep.ExitCode, rep.Git, rep.Unchanged)
	}
	checkGolden(t, "nochange.txt", renderPlan(t, rep, "text"))

	r.commit("break it", map[string]string{"apps/config.yaml": "kind: [\n"})
	r.commit("fix it", map[string]string{"apps/config.yaml": planConfigV1})
	rep, err = Plan(context.Background(), PlanOptions{Repo: r.dir, Base: "HEAD~1", Head: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExitCode != PlanExitChanges || !rep.BaseBroken {
		t.Errorf("fixing a broken base: exit code %d, base broken %v; want 1, true", rep.ExitCode, rep.BaseBroken)
	}
}

// TestPlanErrors: what stops a plan is an error, not a report.
func TestPlanErrors(t *testing.T) {
	r := newPlanRepo(t)
	r.commit("first", map[string]string{"a.yaml": planConfigV1})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		o    PlanOptions
		want string
	}{
		{"no repository", PlanOptions{Repo: t.TempDir(), Base: "main"}, "open git repository"},
		{"unknown base", PlanOptions{Repo: r.dir, Base: "nope"}, `resolve revision "nope"`},
		{"unknown head", PlanOptions{Repo: r.dir, Base: "main", Head: "nope"}, `resolve revision "nope"`},
		{"nothing to compare", PlanOptions{Repo: r.dir}, "nothing to compare head with"},
		{"missing path", PlanOptions{Repo: r.dir, Base: "main", Path: "nope"}, `path "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(ctx, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
