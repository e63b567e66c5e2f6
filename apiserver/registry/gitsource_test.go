package registry

import (
	"testing"
	"time"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validGitSource follows a repository with defaults.
func validGitSource() *berthv1.GitSource {
	return &berthv1.GitSource{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster", Namespace: "kube-system"},
		Spec:       berthv1.GitSourceSpec{URL: "https://example.com/ops/cluster.git"},
	}
}

func TestGitSourceDefaults(t *testing.T) {
	got := defaulted(GitSources(), validGitSource())
	want := validGitSource()
	want.Spec.Branch = "main"
	want.Spec.Path = "."
	want.Spec.Interval = &metav1.Duration{Duration: 5 * time.Second}
	want.Spec.Prune = ptrTo(true)
	want.Spec.SelfHeal = ptrTo(true)
	if d := diff(want, got); d != "" {
		t.Errorf("defaulted gitsource (-want +got):\n%s", d)
	}

	tagged := validGitSource()
	tagged.Spec.Tag = "v1.2.0"
	tagged.Spec.Prune = ptrTo(false)
	defaulted(GitSources(), tagged)
	if tagged.Spec.Branch != "" || *tagged.Spec.Prune {
		t.Errorf("tagged: branch %q, prune %v", tagged.Spec.Branch, *tagged.Spec.Prune)
	}
}

func TestGitSourceValidation(t *testing.T) {
	k := GitSources()
	checkPaths(t, k.ValidateCreate(defaulted(k, validGitSource())))
	for _, tc := range []struct {
		name   string
		mutate func(*berthv1.GitSource)
		want   []string
	}{
		{"no url", func(g *berthv1.GitSource) { g.Spec.URL = "" }, []string{"spec.url: Required value"}},
		{"ftp", func(g *berthv1.GitSource) { g.Spec.URL = "ftp://example.com/r.git" }, []string{"spec.url: Unsupported value"}},
		{"scp-like url", func(g *berthv1.GitSource) { g.Spec.URL = "git@example.com:ops/cluster.git" }, nil},
		{"tag and commit", func(g *berthv1.GitSource) {
			g.Spec.Tag = "v1"
			g.Spec.Commit = "0123abcd"
		}, []string{"spec.commit: Forbidden"}},
		{"bad commit and branch", func(g *berthv1.GitSource) {
			g.Spec.Commit = "HEAD~1"
			g.Spec.Branch = "feature..x"
		}, []string{"spec.commit: Invalid value", "spec.branch: Invalid value"}},
		{"path escapes", func(g *berthv1.GitSource) { g.Spec.Path = "../other" }, []string{"spec.path: Invalid value"}},
		{"absolute path", func(g *berthv1.GitSource) { g.Spec.Path = "/etc" }, []string{"spec.path: Invalid value"}},
		{"sub path", func(g *berthv1.GitSource) { g.Spec.Path = "clusters/prod" }, nil},
		{"interval", func(g *berthv1.GitSource) { g.Spec.Interval = &metav1.Duration{Duration: 500 * time.Millisecond} },
			[]string{"spec.interval: Invalid value"}},
		{"secret ref", func(g *berthv1.GitSource) { g.Spec.SecretRef = &berthv1.LocalObjectReference{} },
			[]string{"spec.secretRef.name: Required value"}},
		{"unqualified finalizer allowed", func(g *berthv1.GitSource) { g.Finalizers = []string{"sync"} }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := defaulted(k, validGitSource())
			tc.mutate(g)
			checkPaths(t, k.ValidateCreate(g), tc.want...)
		})
	}
}

func TestGitSourceRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	g := validGitSource()
	g.CreationTimestamp = metav1.NewTime(now.Add(-7 * time.Minute))
	g.Status = berthv1.GitSourceStatus{Revision: "0123456789abcdef", Phase: "Synced", Message: "ok"}
	GitSources().PrepareForCreate(g)
	if g.Status.Phase != "" {
		t.Errorf("status kept on create: %+v", g.Status)
	}
	g.Status = berthv1.GitSourceStatus{Revision: "0123456789abcdef", Phase: "Synced"}
	want := []interface{}{"https://example.com/ops/cluster.git", "01234567", "Synced", "7m"}
	if d := diff(want, gitSourceRow(g, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}
