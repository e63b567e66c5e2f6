package cli

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// describeGitSource prints a GitSource's page: what it follows, the revision live
// and its phase and health, the last sync, every error in full, and each managed
// object's state, health and drift.
func describeGitSource(d *descWriter, u *unstructured.Unstructured) error {
	g, err := fromUnstructured[berthv1.GitSource](u)
	if err != nil {
		return err
	}
	d.meta(g.ObjectMeta, true)
	s := g.Spec
	d.line(0, "URL", s.URL)
	switch {
	case s.Commit != "":
		d.line(0, "Commit", s.Commit)
	case s.Tag != "":
		d.line(0, "Tag", s.Tag)
	default:
		d.line(0, "Branch", s.Branch)
	}
	d.line(0, "Path", orNone(s.Path))
	if s.Interval != nil {
		d.line(0, "Interval", s.Interval.Duration)
	}
	d.line(0, "Prune", s.Prune == nil || *s.Prune)
	d.line(0, "Self Heal", s.SelfHeal == nil || *s.SelfHeal)
	d.line(0, "Suspend", s.Suspend)
	if s.DriftBranch != "" {
		d.line(0, "Drift Branch", s.DriftBranch)
	}
	st := g.Status
	d.text(0, "Status:")
	rev := orNone(st.Revision)
	if st.RevisionMessage != "" {
		rev += " " + st.RevisionMessage
	}
	d.line(1, "Revision", rev)
	d.line(1, "Applied Revision", orNone(st.AppliedRevision))
	d.line(1, "Phase", orNone(st.Phase))
	d.line(1, "Health", orNone(st.Health))
	if st.Message != "" {
		d.line(1, "Message", st.Message)
	}
	d.line(1, "Last Sync", d.ago(st.LastSyncTime))
	if t := st.Timings; t != nil {
		d.line(1, "Timings", fmt.Sprintf("fetch %s, plan %s, apply %s", t.Fetch.Duration, t.Plan.Duration, t.Apply.Duration))
	}
	d.line(1, "Objects", fmt.Sprintf("%d", st.ObjectCount))
	if st.LastError != "" {
		d.text(1, "Last Error:")
		for _, l := range strings.Split(strings.TrimRight(st.LastError, "\n"), "\n") {
			d.text(2, "%s", l)
		}
	}
	if len(st.Errors) > 0 {
		d.text(0, "Errors:")
		for _, e := range st.Errors {
			d.text(1, "%s", e)
		}
	}
	var objs [][]string
	for _, o := range st.Objects {
		objs = append(objs, []string{o.Kind, orNone(o.Namespace), o.Name, orNone(o.State), orNone(o.Health),
			orNone(strings.Join(o.Drift, ",")), o.Message})
	}
	if st.ObjectsOmitted > 0 {
		objs = append(objs, []string{fmt.Sprintf("(%d more)", st.ObjectsOmitted), "", "", "", "", "", ""})
	}
	d.table(0, "Managed Objects", []string{"Kind", "Namespace", "Name", "State", "Health", "Drift", "Message"}, objs)
	var conds [][]string
	for _, c := range st.Conditions {
		conds = append(conds, []string{c.Type, string(c.Status), c.Reason, c.Message})
	}
	d.table(0, "Conditions", []string{"Type", "Status", "Reason", "Message"}, conds)
	return nil
}
