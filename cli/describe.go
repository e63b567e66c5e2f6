package cli

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// describer prints one kind's page from its unstructured form.
type describer func(d *descWriter, u *unstructured.Unstructured) error

// describers are the kinds with a page of their own, by group and kind; the rest
// get the generic page (metadata, then every field).
var describers = map[string]describer{
	"/Pod":                describePod,
	"apps/Deployment":     describeDeployment,
	"apps/ReplicaSet":     describeReplicaSet,
	"apps/DaemonSet":      describeDaemonSet,
	"batch/Job":           describeJob,
	"/Service":            describeService,
	"/Node":               describeNode,
	"berth.dev/GitSource": describeGitSource,
}

// Related are the objects a description shows besides the object itself.
type Related struct {
	// Events are about the object.
	Events []corev1.Event
	// NodePods are the pods bound to a described Node.
	NodePods []corev1.Pod
}

// Describe prints an object as kubectl describe does: its own page for the common
// kinds (Pod, Deployment, ReplicaSet, DaemonSet, Job, Service, Node with its pods
// and what they request, GitSource), every field for the others, then the
// object's events, oldest first, with ages relative to now.
func Describe(w io.Writer, u *unstructured.Unstructured, rel Related, now time.Time) error {
	var buf bytes.Buffer
	d := &descWriter{tw: tabwriter.NewWriter(&buf, 0, 8, 2, ' ', 0), now: now, rel: rel}
	gvk := u.GroupVersionKind()
	describe, ok := describers[gvk.Group+"/"+gvk.Kind]
	if !ok {
		describe = describeGeneric
	}
	if err := describe(d, u); err != nil {
		return fmt.Errorf("describe %s %s: %w", gvk.Kind, u.GetName(), err)
	}
	d.events(rel.Events)
	if err := d.tw.Flush(); err != nil {
		return fmt.Errorf("write description: %w", err)
	}
	// An empty last cell leaves padding behind; drop it.
	lines := strings.SplitAfter(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.TrimSuffix(l, "\n"), " ")
	}
	if _, err := io.WriteString(w, strings.Join(lines, "\n")); err != nil {
		return fmt.Errorf("write description: %w", err)
	}
	return nil
}

// fromUnstructured converts u into a typed object.
func fromUnstructured[T any](u *unstructured.Unstructured) (*T, error) {
	var t T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &t); err != nil {
		return nil, fmt.Errorf("convert %s: %w", u.GetKind(), err)
	}
	return &t, nil
}

// descWriter writes "Key:<tab>value" lines at indentation levels, aligned.
type descWriter struct {
	tw  *tabwriter.Writer
	now time.Time
	rel Related
}

// line writes a key and a value at a level (two spaces each).
func (d *descWriter) line(level int, key string, value any) {
	fmt.Fprintf(d.tw, "%s%s:\t%v\n", strings.Repeat("  ", level), key, value)
}

// text writes a line as it is at a level.
func (d *descWriter) text(level int, format string, a ...any) {
	fmt.Fprintf(d.tw, "%s%s\n", strings.Repeat("  ", level), fmt.Sprintf(format, a...))
}

// meta writes the metadata lines every page begins with.
func (d *descWriter) meta(m metav1.ObjectMeta, namespaced bool) {
	d.line(0, "Name", m.Name)
	if namespaced {
		d.line(0, "Namespace", m.Namespace)
	}
	d.mapLines(0, "Labels", m.Labels)
	d.mapLines(0, "Annotations", m.Annotations)
	d.line(0, "CreationTimestamp", m.CreationTimestamp.UTC().Format(time.RFC1123Z))
}

// mapLines writes a map as "Key: k=v" with more pairs on the following lines,
// sorted, or "<none>".
func (d *descWriter) mapLines(level int, key string, m map[string]string) {
	if len(m) == 0 {
		d.line(level, key, "<none>")
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		v := m[k]
		if len(v) > 200 {
			v = v[:200] + "..."
		}
		if i == 0 {
			d.line(level, key, k+"="+v)
		} else {
			d.text(level, "\t%s=%s", k, v)
		}
	}
}

// table writes a titled table: "Title:", the headers, dashes under them, the rows.
func (d *descWriter) table(level int, title string, head []string, rows [][]string) {
	if len(rows) == 0 {
		d.line(level, title, "<none>")
		return
	}
	d.text(level, "%s:", title)
	d.rows(level+1, head, rows)
}

// rows writes headers, dashes under them, and rows.
func (d *descWriter) rows(level int, head []string, rows [][]string) {
	d.text(level, "%s", strings.Join(head, "\t"))
	dashes := make([]string, len(head))
	for i, h := range head {
		dashes[i] = strings.Repeat("-", len(h))
	}
	d.text(level, "%s", strings.Join(dashes, "\t"))
	for _, r := range rows {
		d.text(level, "%s", strings.Join(r, "\t"))
	}
}

// controlledBy renders an object's controller as "Kind/name", or "".
func controlledBy(m metav1.ObjectMeta) string {
	if ref := metav1.GetControllerOfNoCopy(&m); ref != nil {
		return ref.Kind + "/" + ref.Name
	}
	return ""
}

// events writes the Events section: "<none>", or TYPE REASON AGE FROM MESSAGE.
func (d *descWriter) events(events []corev1.Event) {
	if len(events) == 0 {
		d.line(0, "Events", "<none>")
		return
	}
	SortEvents(events)
	d.text(0, "Events:")
	d.text(1, "Type\tReason\tAge\tFrom\tMessage")
	d.text(1, "----\t------\t----\t----\t-------")
	for i := range events {
		e := &events[i]
		from := e.Source.Component
		if from == "" {
			from = e.ReportingController
		}
		if e.Source.Host != "" {
			from += ", " + e.Source.Host
		}
		d.text(1, "%s\t%s\t%s\t%s\t%s", e.Type, e.Reason, eventSeen(e, d.now), from, strings.TrimSpace(e.Message))
	}
}

// orNone returns s, or "<none>" when it is empty.
func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// ago renders a time as "RFC1123 (5m ago)", or "<none>" when zero.
func (d *descWriter) ago(t *metav1.Time) string {
	if t == nil || t.IsZero() {
		return "<none>"
	}
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC1123Z), Age(t.Time, d.now))
}
