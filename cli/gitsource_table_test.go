package cli

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

func TestGitSourceTable(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	created := metav1.NewTime(now.Add(-48 * time.Hour))
	synced := metav1.NewTime(now.Add(-5 * time.Second))
	sources := []berthv1.GitSource{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "default", CreationTimestamp: created},
			Spec:   berthv1.GitSourceSpec{URL: "file:///repo", Branch: "main", Path: "."},
			Status: berthv1.GitSourceStatus{Revision: "0123456789abcdef", Phase: "Synced", Health: "Healthy", LastSyncTime: &synced}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "pinned", CreationTimestamp: created},
			Spec: berthv1.GitSourceSpec{URL: "https://git.example/x.git", Commit: "fedcba9876543210fedc", Suspend: true}},
	}
	got := GitSourceTable(sources, now, ServerTableOptions{Wide: true, WithNamespace: true})
	want := &Table{
		Columns: []string{"Namespace", "Name", "Repo", "Branch", "Revision", "Phase", "Health", "Age", "Path", "Last Sync", "Message"},
		Rows: [][]string{
			{"kube-system", "default", "file:///repo", "main", "0123456789ab", "Synced", "Healthy", "2d", ".", "5s", "<none>"},
			{"team", "pinned", "https://git.example/x.git", "commit:fedcba987654", "<none>", "Suspended", "<none>", "2d", "<none>", "<never>", "<none>"},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
