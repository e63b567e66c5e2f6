package manifests

import (
	"bytes"
	"errors"
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

// testRepo is a git repository in a temporary directory.
type testRepo struct {
	t    *testing.T
	dir  string
	repo *git.Repository
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	return &testRepo{t: t, dir: dir, repo: repo}
}

// write writes files into the work tree.
func (r *testRepo) write(files map[string]string) {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// commit writes files, stages everything and commits.
func (r *testRepo) commit(msg string, files map[string]string) plumbing.Hash {
	r.t.Helper()
	r.write(files)
	wt, err := r.repo.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		r.t.Fatal(err)
	}
	h, err := wt.Commit(msg, &git.CommitOptions{
		Author: &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1700000000, 0)},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return h
}

// load loads commit and returns the objects formatted as in transcripts.
func (r *testRepo) load(commit plumbing.Hash, opts Options) string {
	r.t.Helper()
	if opts.KnownNamespaces == nil {
		opts.KnownNamespaces = func(ns string) bool { return ns == "default" }
	}
	objs, err := Load(r.repo, commit, opts)
	return formatResult(objs, err)
}

const (
	gitDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: REPLICAS
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
`
	gitConfigMap = `apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME
`
)

func TestLoadGit(t *testing.T) {
	r := newTestRepo(t)
	first := r.commit("first", map[string]string{
		"apps/web.yaml":                              strings.Replace(gitDeployment, "REPLICAS", "1", 1),
		"clusters/prod/cm.yaml":                      strings.Replace(gitConfigMap, "NAME", "prod", 1),
		"clusters/prod/kustomize/kustomization.yaml": "resources: [cm.yaml]\nnamePrefix: k-\n",
		"clusters/prod/kustomize/cm.yaml":            strings.Replace(gitConfigMap, "NAME", "cm", 1),
		"README.md":                                  "# config\n",
	})
	second := r.commit("second", map[string]string{
		"apps/web.yaml":         strings.Replace(gitDeployment, "REPLICAS", "3", 1) + "---\n" + strings.Replace(gitConfigMap, "NAME", "web", 1),
		"clusters/prod/new.yml": strings.Replace(gitConfigMap, "NAME", "new", 1),
	})
	// Uncommitted changes are not part of any commit's tree.
	r.write(map[string]string{
		"apps/broken.yaml":      "kind: [",
		"clusters/prod/cm.yaml": "not: a manifest\n",
	})

	for _, tc := range []struct {
		name   string
		commit plumbing.Hash
		path   string
		want   string
	}{
		{"first", first, "", `apps/web.yaml:1: apps/Deployment default/web
clusters/prod/cm.yaml:1: ConfigMap default/prod
clusters/prod/kustomize/kustomization.yaml:1: ConfigMap default/k-cm
`},
		{"second", second, "", `apps/web.yaml:1: apps/Deployment default/web
apps/web.yaml:17: ConfigMap default/web
clusters/prod/cm.yaml:1: ConfigMap default/prod
clusters/prod/kustomize/kustomization.yaml:1: ConfigMap default/k-cm
clusters/prod/new.yml:1: ConfigMap default/new
`},
		{"first subdirectory", first, "clusters/prod", `clusters/prod/cm.yaml:1: ConfigMap default/prod
clusters/prod/kustomize/kustomization.yaml:1: ConfigMap default/k-cm
`},
		{"kustomization as path", second, "clusters/prod/kustomize/", `clusters/prod/kustomize/kustomization.yaml:1: ConfigMap default/k-cm
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, r.load(tc.commit, Options{Path: tc.path})); diff != "" {
				t.Errorf("Load(%s, %q) differs (-want +got):\n%s", tc.name, tc.path, diff)
			}
		})
	}

	// The objects are typed and undefaulted; Raw carries the defaulted namespace.
	objs, err := Load(r.repo, first, Options{Path: "apps", KnownNamespaces: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("got %d objects, want 1", len(objs))
	}
	raw := string(objs[0].Raw)
	if !strings.Contains(raw, `"namespace":"default"`) || strings.Contains(raw, "strategy") {
		t.Errorf("Raw = %s, want the document with namespace default and no defaults", raw)
	}
}

func TestLoadGitErrors(t *testing.T) {
	r := newTestRepo(t)
	c := r.commit("first", map[string]string{"cm.yaml": strings.Replace(gitConfigMap, "NAME", "a", 1)})

	var errs Errors
	if _, err := Load(r.repo, plumbing.NewHash("0123456789012345678901234567890123456789"), Options{}); err == nil || errors.As(err, &errs) {
		t.Errorf("Load(unknown commit) = %v, want a plain error", err)
	}
	if _, err := Load(r.repo, c, Options{Path: "nowhere"}); err == nil || errors.As(err, &errs) {
		t.Errorf("Load(missing path) = %v, want a plain error", err)
	}
	if _, err := Load(r.repo, c, Options{Path: "cm.yaml"}); err == nil || errors.As(err, &errs) {
		t.Errorf("Load(path to a file) = %v, want a plain error", err)
	}
	if _, err := Load(r.repo, c, Options{Path: "../x"}); err == nil {
		t.Errorf("Load(path outside) = %v, want an error", err)
	}
}

// TestLoadGitLimits checks the size limit and symbolic links on a git tree,
// where sizes come from object headers.
func TestLoadGitLimits(t *testing.T) {
	r := newTestRepo(t)
	r.write(map[string]string{"target.yaml": strings.Replace(gitConfigMap, "NAME", "t", 1)})
	if err := os.Symlink("target.yaml", filepath.Join(r.dir, "link.yaml")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	big := bytes.Repeat([]byte("# "+strings.Repeat("x", 61)+"\n"), (11<<20)/64)
	c := r.commit("limits", map[string]string{"big.yaml": string(big), "bomb.yaml": billionLaughs})
	want := `big.yaml: file too large: 11534336 bytes, the limit is 10485760 (10 MiB)
bomb.yaml:1: ConfigMap lol: YAML aliases expand the document to more than 100000 nodes
link.yaml: not a regular file (symbolic links are not followed)
`
	if diff := cmp.Diff(want, r.load(c, Options{})); diff != "" {
		t.Errorf("Load differs (-want +got):\n%s", diff)
	}
}
