package controllers

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// replicaSetStatus computes the status of rs from the active pods it controls and
// the error of this round's creations or deletions, if any. next, when positive,
// is how long until a ready pod becomes available (minReadySeconds), so that the
// caller looks again then.
//
// Conditions: ReplicaFailure True (reason FailedCreate or FailedDelete, the error as
// message) when manageErr is set, removed once a round succeeds.
func replicaSetStatus(rs *appsv1.ReplicaSet, pods []*corev1.Pod, manageErr error, now time.Time) (status appsv1.ReplicaSetStatus, next time.Duration) {
	status = *rs.Status.DeepCopy()
	status.ObservedGeneration = rs.Generation
	status.Replicas = int32(len(pods))
	status.FullyLabeledReplicas, status.ReadyReplicas, status.AvailableReplicas = 0, 0, 0
	tmpl := labels.SelectorFromSet(rs.Spec.Template.Labels)
	minReady := time.Duration(rs.Spec.MinReadySeconds) * time.Second
	for _, p := range pods {
		if tmpl.Matches(labels.Set(p.Labels)) {
			status.FullyLabeledReplicas++
		}
		if !podReady(p) {
			continue
		}
		status.ReadyReplicas++
		at, ok := podAvailableAt(p, minReady)
		switch {
		case !ok:
		case at.IsZero() || at.Before(now):
			status.AvailableReplicas++
		case next == 0 || at.Sub(now) < next:
			next = at.Sub(now)
		}
	}
	if next > 0 {
		next += 100 * time.Millisecond // available strictly after the instant
	}
	failure := replicaSetCondition(status, appsv1.ReplicaSetReplicaFailure)
	switch {
	case manageErr != nil && failure == nil:
		reason := "FailedCreate"
		if len(pods) > int(replicaSetReplicas(rs)) {
			reason = "FailedDelete"
		}
		status.Conditions = append(status.Conditions, appsv1.ReplicaSetCondition{
			Type: appsv1.ReplicaSetReplicaFailure, Status: corev1.ConditionTrue,
			LastTransitionTime: metav1.NewTime(now), Reason: reason, Message: manageErr.Error(),
		})
	case manageErr == nil && failure != nil:
		var kept []appsv1.ReplicaSetCondition
		for _, c := range status.Conditions {
			if c.Type != appsv1.ReplicaSetReplicaFailure {
				kept = append(kept, c)
			}
		}
		status.Conditions = kept
	}
	return status, next
}

// podAvailableAt is when a ready pod counts as available: once minReady has passed
// since its Ready condition last turned True (the zero time: at once, when minReady
// is 0). ok is false when there is no transition time to count from.
func podAvailableAt(p *corev1.Pod, minReady time.Duration) (at time.Time, ok bool) {
	if minReady == 0 {
		return time.Time{}, true
	}
	c := podCondition(p, corev1.PodReady)
	if c == nil || c.LastTransitionTime.IsZero() {
		return time.Time{}, false
	}
	return c.LastTransitionTime.Add(minReady), true
}

// replicaSetCondition returns the condition of a type, or nil.
func replicaSetCondition(s appsv1.ReplicaSetStatus, typ appsv1.ReplicaSetConditionType) *appsv1.ReplicaSetCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// replicaSetStatusEqual says whether writing b over a would change nothing.
func replicaSetStatusEqual(a, b appsv1.ReplicaSetStatus) bool {
	return a.Replicas == b.Replicas && a.FullyLabeledReplicas == b.FullyLabeledReplicas &&
		a.ReadyReplicas == b.ReadyReplicas && a.AvailableReplicas == b.AvailableReplicas &&
		a.ObservedGeneration == b.ObservedGeneration && equality.Semantic.DeepEqual(a.Conditions, b.Conditions)
}
