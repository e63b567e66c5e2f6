package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
)

// namespaceDeletionConditions are the conditions of a terminating namespace, in
// Kubernetes' order, with the reason and message each has when all is well and
// the reason it has when not.
var namespaceDeletionConditions = []struct {
	typ                            corev1.NamespaceConditionType
	okReason, okMessage, badReason string
}{
	{corev1.NamespaceDeletionDiscoveryFailure, "ResourcesDiscovered", "All resources successfully discovered", "DiscoveryFailed"},
	{corev1.NamespaceDeletionGVParsingFailure, "ParsedGroupVersions", "All legacy kube types successfully parsed", "GroupVersionParsingFailed"},
	{corev1.NamespaceDeletionContentFailure, "ContentDeleted", "All content successfully deleted, may be waiting on finalization", "ContentDeletionFailed"},
	{corev1.NamespaceContentRemaining, "ContentRemoved", "All content successfully removed", "SomeResourcesRemain"},
	{corev1.NamespaceFinalizersRemaining, "ContentHasNoFinalizers", "All content-preserving finalizers finished", "SomeFinalizersRemain"},
}

// problems are the messages of the conditions that are True after a deletion
// pass, worded as kube-controller-manager words them.
func (d *deletion) problems() map[corev1.NamespaceConditionType]string {
	out := map[corev1.NamespaceConditionType]string{}
	if d.discoveryErr != nil {
		failing := 1
		var gf *discovery.ErrGroupDiscoveryFailed
		if errors.As(d.discoveryErr, &gf) {
			failing = len(gf.Groups)
		}
		out[corev1.NamespaceDeletionDiscoveryFailure] = fmt.Sprintf("Discovery failed for some groups, %d failing: %v", failing, d.discoveryErr)
	}
	if len(d.deleteErrs) > 0 {
		out[corev1.NamespaceDeletionContentFailure] = fmt.Sprintf("Failed to delete all resource types, %d remaining: %v",
			len(d.deleteErrs), errors.Join(d.deleteErrs...))
	}
	if msgs := counted(d.left, "%s has %d resource instances"); len(msgs) > 0 {
		out[corev1.NamespaceContentRemaining] = "Some resources are remaining: " + strings.Join(msgs, ", ")
	}
	if msgs := counted(d.finalizers, "%s in %d resource instances"); len(msgs) > 0 {
		out[corev1.NamespaceFinalizersRemaining] = "Some content in the namespace has finalizers remaining: " + strings.Join(msgs, ", ")
	}
	return out
}

// counted formats the non-zero counts of m, sorted.
func counted(m map[string]int, format string) []string {
	var out []string
	for k, n := range m {
		if n > 0 {
			out = append(out, fmt.Sprintf(format, k, n))
		}
	}
	slices.Sort(out)
	return out
}

// namespaceConditions returns conds with every deletion condition set: True with
// its problem's message, else False with the all-well reason. A condition whose
// status, reason and message do not change keeps its transition time.
func namespaceConditions(conds []corev1.NamespaceCondition, problems map[corev1.NamespaceConditionType]string, now metav1.Time) (out []corev1.NamespaceCondition, changed bool) {
	out = slices.Clone(conds)
	for _, dc := range namespaceDeletionConditions {
		want := corev1.NamespaceCondition{Type: dc.typ, Status: corev1.ConditionFalse, Reason: dc.okReason, Message: dc.okMessage, LastTransitionTime: now}
		if msg, bad := problems[dc.typ]; bad {
			want.Status, want.Reason, want.Message = corev1.ConditionTrue, dc.badReason, msg
		}
		i := slices.IndexFunc(out, func(c corev1.NamespaceCondition) bool { return c.Type == dc.typ })
		switch {
		case i < 0:
			out = append(out, want)
			changed = true
		case out[i].Status != want.Status || out[i].Reason != want.Reason || out[i].Message != want.Message:
			out[i] = want
			changed = true
		}
	}
	return out, changed
}

// writeStatus writes the namespace's phase (Terminating) and deletion conditions
// when they change.
func (c *namespaceController) writeStatus(ctx context.Context, ns *corev1.Namespace, d *deletion) error {
	conds, changed := namespaceConditions(ns.Status.Conditions, d.problems(), metav1.NewTime(c.now()))
	if !changed && ns.Status.Phase == corev1.NamespaceTerminating {
		return nil
	}
	ns = ns.DeepCopy()
	ns.Status.Phase, ns.Status.Conditions = corev1.NamespaceTerminating, conds
	if _, err := c.client.CoreV1().Namespaces().UpdateStatus(ctx, ns, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("namespace %s status: %w", ns.Name, err)
	}
	return nil
}
