package cli

import (
	"time"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// GitSourceTable is `berth get gitsources`: NAME REPO BRANCH REVISION PHASE
// HEALTH AGE, and with Wide also PATH, LAST SYNC and MESSAGE. BRANCH shows
// "tag:v1" or "commit:1a2b3c" for a source that follows a tag or a commit.
func GitSourceTable(sources []berthv1.GitSource, now time.Time, o ServerTableOptions) *Table {
	t := &Table{Columns: []string{"Name", "Repo", "Branch", "Revision", "Phase", "Health", "Age"}}
	if o.Wide {
		t.Columns = append(t.Columns, "Path", "Last Sync", "Message")
	}
	if o.WithNamespace {
		t.Columns = append([]string{"Namespace"}, t.Columns...)
	}
	for i := range sources {
		g := &sources[i]
		ref := g.Spec.Branch
		switch {
		case g.Spec.Commit != "":
			ref = "commit:" + shortRev(g.Spec.Commit)
		case g.Spec.Tag != "":
			ref = "tag:" + g.Spec.Tag
		}
		name := g.Name
		if o.KindPrefix != "" {
			name = o.KindPrefix + "/" + name
		}
		phase := g.Status.Phase
		if g.Spec.Suspend {
			phase = "Suspended"
		}
		row := []string{name, g.Spec.URL, orNone(ref), orNone(shortRev(g.Status.Revision)), orNone(phase), orNone(g.Status.Health),
			Age(g.CreationTimestamp.Time, now)}
		if o.Wide {
			sync := "<never>"
			if g.Status.LastSyncTime != nil {
				sync = Age(g.Status.LastSyncTime.Time, now)
			}
			row = append(row, orNone(g.Spec.Path), sync, orNone(oneLine(g.Status.Message)))
		}
		if o.WithNamespace {
			row = append([]string{g.Namespace}, row...)
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
