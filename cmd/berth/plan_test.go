package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/manifests"
	"github.com/berth-dev/berth/sync"
)

// planTestRepo makes a repository whose main branch holds a ConfigMap and whose
// branches "same", "change" and "broken" change nothing, change it and break it.
func planTestRepo(t *testing.T) (string, *git.Repository) {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	commit := func(branch, file, data string) {
		if branch != "" {
			if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName(branch), Create: true}); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := wt.Add(file); err != nil {
			t.Fatal(err)
		}
		sig := &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Unix(1700000000, 0)}
		if _, err := wt.Commit("change "+file, &git.CommitOptions{Author: sig}); err != nil {
			t.Fatal(err)
		}
		if branch != "" {
			if err := wt.Checkout(&git.CheckoutOptions{Branch: plumbing.NewBranchReferenceName("main")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {message: hello}\n"
	commit("", "cfg.yaml", cm)
	commit("same", "README.md", "# docs\n")
	commit("change", "cfg.yaml", strings.Replace(cm, "hello", "hello again", 1))
	commit("broken", "cfg.yaml", strings.Replace(cm, "\ndata:", "\ndataa:", 1))
	return dir, repo
}

// runPlan runs `berth plan args...` and returns stdout, stderr and the exit
// status main would exit with.
func runPlan(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newPlanCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
	case errors.As(err, &coded):
		code = coded.ExitCode()
	default:
		code = 1
	}
	return out.String(), errOut.String(), code
}

// TestPlanCommandOffline: the exit statuses of an offline plan, and that a plan
// with changes or errors prints no cobra error message.
func TestPlanCommandOffline(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	dir, _ := planTestRepo(t)
	for _, tc := range []struct {
		args   []string
		code   int
		out    string // in stdout
		stderr string // all of stderr
	}{
		{[]string{"--head", "same"}, 0, "no changes: head matches base", ""},
		{[]string{"--head", "change"}, 1, `~ data.message: hello → "hello again"`, ""},
		{[]string{"--head", "change", "--format", "markdown"}, 1, "<details><summary><code>~ update</code> ConfigMap default/cfg", ""},
		{[]string{"--head", "change", "-o", "json"}, 1, `"exitCode": 1`, ""},
		{[]string{"--head", "broken"}, 2, "cfg.yaml:4: ConfigMap default/cfg: dataa: unknown field", ""},
		{[]string{"--head", "nope"}, 2, "", "Error: resolve revision \"nope\": reference not found\n"},
		{[]string{"--head", "change", "--format", "yaml"}, 2, "", "Error: --format \"yaml\": want text, markdown or json\n"},
	} {
		args := append([]string{"--repo", dir, "--base", "main", "--offline"}, tc.args...)
		out, stderr, code := runPlan(t, args...)
		if code != tc.code || !strings.Contains(out, tc.out) || stderr != tc.stderr {
			t.Errorf("berth plan %v: exit %d, want %d\nstdout:\n%s\nstderr: %q, want %q", tc.args, code, tc.code, out, stderr, tc.stderr)
		}
	}
	if _, stderr, code := runPlan(t, "--repo", dir, "--offline"); code != 2 || !strings.Contains(stderr, "--offline needs --base") {
		t.Errorf("--offline without --base: exit %d, stderr %q", code, stderr)
	}

	// Under a root command that prints errors, as berth's does: still no message.
	root := &cobra.Command{Use: "berth", SilenceUsage: true}
	root.AddCommand(newPlanCommand())
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"plan", "--repo", dir, "--base", "main", "--head", "change", "--offline"})
	err := root.Execute()
	var coded interface{ ExitCode() int }
	if !errors.As(err, &coded) || coded.ExitCode() != 1 || errOut.Len() != 0 || !strings.Contains(out.String(), "Plan: 1 to update") {
		t.Errorf("berth plan under a root: %v, stderr %q, stdout:\n%s", err, errOut.String(), out.String())
	}
	// A fresh tree: the run above silenced its plan command for good.
	root = &cobra.Command{Use: "berth", SilenceUsage: true}
	root.AddCommand(newPlanCommand())
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"plan", "--repo", dir, "--bogus"})
	if err := root.Execute(); err == nil || !strings.Contains(errOut.String(), "unknown flag: --bogus") {
		t.Errorf("a bad flag: %v, stderr %q", err, errOut.String())
	}
}

// TestPlanClusterConfig: which kubeconfig a plan reads, if any.
func TestPlanClusterConfig(t *testing.T) {
	t.Setenv("KUBECONFIG", "")
	old := defaultReadonlyKubeconfig
	t.Cleanup(func() { defaultReadonlyKubeconfig = old })
	defaultReadonlyKubeconfig = filepath.Join(t.TempDir(), "readonly.kubeconfig")

	if cfg, err := planClusterConfig("", false, true); cfg != nil || err != nil {
		t.Errorf("no kubeconfig, a base: %v %v, want offline", cfg, err)
	}
	if _, err := planClusterConfig("", false, false); err == nil || !strings.Contains(err.Error(), "without --base") {
		t.Errorf("no kubeconfig, no base: %v", err)
	}
	if _, err := planClusterConfig(filepath.Join(t.TempDir(), "missing"), false, true); err == nil {
		t.Error("a missing --kubeconfig was not an error")
	}
	if cfg, err := planClusterConfig("", true, true); cfg != nil || err != nil {
		t.Errorf("--offline: %v %v", cfg, err)
	}
	ts := testserver.Start(t, apiserver.Options{})
	data, err := os.ReadFile(ts.KubeconfigPath(auth.RoleReadonly))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(defaultReadonlyKubeconfig, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := planClusterConfig("", false, true); err != nil || cfg == nil || cfg.Host != ts.URL() {
		t.Errorf("the default readonly kubeconfig: %v %v", cfg, err)
	}
}

// TestPlanCommandCluster: a plan against a live cluster with the readonly
// kubeconfig: changes (exit 1) before the sync, none (exit 0) after it.
func TestPlanCommandCluster(t *testing.T) {
	dir, repo := planTestRepo(t)
	ts := testserver.Start(t, apiserver.Options{})
	readonly := ts.KubeconfigPath(auth.RoleReadonly)

	out, stderr, code := runPlan(t, "--repo", dir, "--head", "change", "--kubeconfig", readonly)
	if code != 1 || !strings.Contains(out, "+ create ConfigMap default/cfg (cfg.yaml:1)") || stderr != "" {
		t.Errorf("before the sync: exit %d\n%s\nstderr: %s", code, out, stderr)
	}
	planTestSync(t, ts, repo, "change")
	out, stderr, code = runPlan(t, "--repo", dir, "--head", "change", "--kubeconfig", readonly)
	if code != 0 || !strings.Contains(out, "no changes: head matches the live cluster (1 objects)") || stderr != "" {
		t.Errorf("after the sync: exit %d\n%s\nstderr: %s", code, out, stderr)
	}
	out, _, code = runPlan(t, "--repo", dir, "--head", "main", "--base", "change", "--kubeconfig", readonly)
	if code != 1 || !strings.Contains(out, `~ data.message: "hello again" → hello`) {
		t.Errorf("main against the synced change: exit %d\n%s", code, out)
	}
	if _, stderr, code := runPlan(t, "--repo", dir, "--kubeconfig", filepath.Join(t.TempDir(), "nope")); code != 2 || !strings.Contains(stderr, "load kubeconfig") {
		t.Errorf("a missing kubeconfig: exit %d, stderr %q", code, stderr)
	}
}

// planTestSync applies a revision as the GitSource kube-system/default would,
// with the sync's own plan and apply and the admin token.
func planTestSync(t *testing.T, ts *testserver.Server, repo *git.Repository, rev string) {
	t.Helper()
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(ts.Config)
	if err != nil {
		t.Fatal(err)
	}
	gs := &unstructured.Unstructured{}
	gs.SetGroupVersionKind(registry.GitSources().GroupVersionKind())
	gs.SetNamespace("kube-system")
	gs.SetName("default")
	unstructured.SetNestedField(gs.Object, "file:///repo", "spec", "url")
	if _, err := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace("kube-system").Create(ctx, gs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Load(repo, *h, manifests.Options{KnownNamespaces: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	src := sync.Source{Namespace: "kube-system", Name: "default"}
	var desired []*sync.Desired
	for _, o := range manifests.Order(objs) {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(o.Raw); err != nil {
			t.Fatal(err)
		}
		desired = append(desired, &sync.Desired{Kind: o.Kind, Obj: u, File: o.File, Line: o.Line})
	}
	live, err := sync.LiveState(ctx, dyn, src, desired)
	if err != nil {
		t.Fatal(err)
	}
	actions, err := sync.Plan(src, desired, live)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sync.Apply(ctx, dyn, actions) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
}
