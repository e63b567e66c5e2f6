package controllers

import (
	"context"
	"fmt"
	"math"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Reasons of the Deployment conditions, as kube-controller-manager writes them.
const (
	reasonReplicaSetUpdated        = "ReplicaSetUpdated"
	reasonReplicaSetCreateError    = "ReplicaSetCreateError"
	reasonNewReplicaSetCreated     = "NewReplicaSetCreated"
	reasonFoundNewReplicaSet       = "FoundNewReplicaSet"
	reasonNewReplicaSetAvailable   = "NewReplicaSetAvailable"
	reasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	reasonDeploymentPaused         = "DeploymentPaused"
	reasonDeploymentResumed        = "DeploymentResumed"
	reasonMinimumReplicasAvailable = "MinimumReplicasAvailable"
	reasonMinimumReplicasUnavail   = "MinimumReplicasUnavailable"
)

// newDeploymentCondition is a condition updated and transitioned at now.
func newDeploymentCondition(typ appsv1.DeploymentConditionType, status corev1.ConditionStatus, reason, msg string, now time.Time) appsv1.DeploymentCondition {
	t := metav1.NewTime(now)
	return appsv1.DeploymentCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastUpdateTime: t, LastTransitionTime: t}
}

// deploymentCondition returns the condition of a type, or nil.
func deploymentCondition(s appsv1.DeploymentStatus, typ appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == typ {
			return &s.Conditions[i]
		}
	}
	return nil
}

// setDeploymentCondition sets a condition unless one with the same status and
// reason is there; a condition whose status does not change keeps its transition
// time.
func setDeploymentCondition(s *appsv1.DeploymentStatus, c appsv1.DeploymentCondition) {
	cur := deploymentCondition(*s, c.Type)
	if cur != nil && cur.Status == c.Status && cur.Reason == c.Reason {
		return
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	removeDeploymentCondition(s, c.Type)
	s.Conditions = append(s.Conditions, c)
}

// removeDeploymentCondition drops the condition of a type.
func removeDeploymentCondition(s *appsv1.DeploymentStatus, typ appsv1.DeploymentConditionType) {
	var kept []appsv1.DeploymentCondition
	for _, c := range s.Conditions {
		if c.Type != typ {
			kept = append(kept, c)
		}
	}
	s.Conditions = kept
}

// hasProgressDeadline says whether d reports ProgressDeadlineExceeded at all (the
// deadline MaxInt32 means never).
func hasProgressDeadline(d *appsv1.Deployment) bool {
	return d.Spec.ProgressDeadlineSeconds != nil && *d.Spec.ProgressDeadlineSeconds != math.MaxInt32
}

// deploymentStatus computes d's status from its ReplicaSets (new may be nil):
// replica counts from their status, and the Available condition
// (MinimumReplicasAvailable when at least replicas-maxUnavailable pods are
// available, else MinimumReplicasUnavailable). Other conditions are carried over.
func deploymentStatus(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet, now time.Time) appsv1.DeploymentStatus {
	field := func(f func(*appsv1.ReplicaSetStatus) int32) func([]*appsv1.ReplicaSet) int32 {
		return func(l []*appsv1.ReplicaSet) int32 { return sumStatus(l, f) }
	}
	replicas := field(func(s *appsv1.ReplicaSetStatus) int32 { return s.Replicas })
	ready := field(func(s *appsv1.ReplicaSetStatus) int32 { return s.ReadyReplicas })
	available := field(func(s *appsv1.ReplicaSetStatus) int32 { return s.AvailableReplicas })
	s := appsv1.DeploymentStatus{
		ObservedGeneration:  d.Generation,
		Replicas:            replicas(all),
		UpdatedReplicas:     replicas([]*appsv1.ReplicaSet{newRS}),
		ReadyReplicas:       ready(all),
		AvailableReplicas:   available(all),
		UnavailableReplicas: max(0, sumReplicas(all)-available(all)),
		CollisionCount:      d.Status.CollisionCount,
		Conditions:          append([]appsv1.DeploymentCondition(nil), d.Status.Conditions...),
	}
	if s.AvailableReplicas >= deploymentReplicas(d)-deploymentMaxUnavailable(d) {
		setDeploymentCondition(&s, newDeploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionTrue,
			reasonMinimumReplicasAvailable, "Deployment has minimum availability.", now))
	} else {
		setDeploymentCondition(&s, newDeploymentCondition(appsv1.DeploymentAvailable, corev1.ConditionFalse,
			reasonMinimumReplicasUnavail, "Deployment does not have minimum availability.", now))
	}
	return s
}

// syncStatus writes d's computed status when it changed (scaling and paused syncs:
// Progressing is left as it is).
func (c *deploymentController) syncStatus(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) error {
	s := deploymentStatus(d, newRS, all, c.now())
	if equality.Semantic.DeepEqual(d.Status, s) {
		return nil
	}
	d.Status = s
	return c.writeStatus(ctx, d)
}

// syncRolloutStatus writes d's status after a rollout step, with the Progressing
// condition: NewReplicaSetAvailable once complete, ReplicaSetUpdated on progress
// (which restarts the deadline), ProgressDeadlineExceeded (False) when nothing
// progressed for progressDeadlineSeconds; and ReplicaFailure copied from a
// ReplicaSet. When nothing changed it schedules the deadline check.
func (c *deploymentController) syncRolloutStatus(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) error {
	now := c.now()
	s := rolloutStatus(d, newRS, all, now)
	if equality.Semantic.DeepEqual(d.Status, s) {
		if after, ok := progressCheckAfter(d, &s, now); ok {
			c.queue.addAfter(d.Namespace+"/"+d.Name, after)
		}
		return nil
	}
	d.Status = s
	return c.writeStatus(ctx, d)
}

// rolloutStatus is deploymentStatus with the Progressing and ReplicaFailure
// conditions of a rollout (see syncRolloutStatus).
func rolloutStatus(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet, now time.Time) appsv1.DeploymentStatus {
	s := deploymentStatus(d, newRS, all, now)
	if !hasProgressDeadline(d) {
		removeDeploymentCondition(&s, appsv1.DeploymentProgressing)
	}
	cur := deploymentCondition(d.Status, appsv1.DeploymentProgressing)
	complete := s.Replicas == s.UpdatedReplicas && cur != nil && cur.Reason == reasonNewReplicaSetAvailable
	if hasProgressDeadline(d) && !complete {
		switch {
		case deploymentComplete(d, &s):
			msg := "Deployment has successfully progressed."
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has successfully progressed.", newRS.Name)
			}
			setDeploymentCondition(&s, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonNewReplicaSetAvailable, msg, now))
		case deploymentProgressing(d, &s):
			msg := fmt.Sprintf("Deployment %q is progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q is progressing.", newRS.Name)
			}
			c := newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionTrue, reasonReplicaSetUpdated, msg, now)
			// Progress moves lastUpdateTime (the deadline counts from it) even when
			// the reason stays ReplicaSetUpdated.
			if cur != nil {
				if cur.Status == corev1.ConditionTrue {
					c.LastTransitionTime = cur.LastTransitionTime
				}
				removeDeploymentCondition(&s, appsv1.DeploymentProgressing)
			}
			setDeploymentCondition(&s, c)
		case deploymentTimedOut(d, &s, now):
			msg := fmt.Sprintf("Deployment %q has timed out progressing.", d.Name)
			if newRS != nil {
				msg = fmt.Sprintf("ReplicaSet %q has timed out progressing.", newRS.Name)
			}
			setDeploymentCondition(&s, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionFalse, reasonProgressDeadlineExceeded, msg, now))
		}
	}
	if f := replicaFailure(newRS, all); f != nil {
		setDeploymentCondition(&s, *f)
	} else {
		removeDeploymentCondition(&s, appsv1.DeploymentReplicaFailure)
	}
	return s
}

// replicaFailure is the ReplicaFailure condition of the new ReplicaSet, or else of
// an old one, as a Deployment condition; nil when none has one.
func replicaFailure(newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) *appsv1.DeploymentCondition {
	for _, rs := range append([]*appsv1.ReplicaSet{newRS}, all...) {
		if rs == nil {
			continue
		}
		if c := replicaSetCondition(rs.Status, appsv1.ReplicaSetReplicaFailure); c != nil {
			return &appsv1.DeploymentCondition{
				Type: appsv1.DeploymentReplicaFailure, Status: c.Status, Reason: c.Reason, Message: c.Message,
				LastUpdateTime: c.LastTransitionTime, LastTransitionTime: c.LastTransitionTime,
			}
		}
	}
	return nil
}

// deploymentComplete says whether every replica runs the new template, available,
// with no old pods left, as of the current generation.
func deploymentComplete(d *appsv1.Deployment, s *appsv1.DeploymentStatus) bool {
	r := deploymentReplicas(d)
	return s.UpdatedReplicas == r && s.Replicas == r && s.AvailableReplicas == r && s.ObservedGeneration >= d.Generation
}

// deploymentProgressing says whether s shows progress over d's last status: more
// updated, ready or available pods, or fewer old ones.
func deploymentProgressing(d *appsv1.Deployment, s *appsv1.DeploymentStatus) bool {
	old := d.Status
	return s.UpdatedReplicas > old.UpdatedReplicas ||
		s.Replicas-s.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		s.ReadyReplicas > old.ReadyReplicas ||
		s.AvailableReplicas > old.AvailableReplicas
}

// deploymentTimedOut says whether progressDeadlineSeconds passed since the
// Progressing condition last recorded progress (never after a completed rollout).
func deploymentTimedOut(d *appsv1.Deployment, s *appsv1.DeploymentStatus, now time.Time) bool {
	if !hasProgressDeadline(d) {
		return false
	}
	c := deploymentCondition(*s, appsv1.DeploymentProgressing)
	switch {
	case c == nil || c.Reason == reasonNewReplicaSetAvailable:
		return false
	case c.Reason == reasonProgressDeadlineExceeded:
		return true
	}
	deadline := time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second
	return c.LastUpdateTime.Add(deadline).Before(now)
}

// progressCheckAfter is when to look again for a rollout that may run out of its
// deadline with nothing else happening; ok is false when there is nothing to check.
func progressCheckAfter(d *appsv1.Deployment, s *appsv1.DeploymentStatus, now time.Time) (time.Duration, bool) {
	c := deploymentCondition(d.Status, appsv1.DeploymentProgressing)
	if !hasProgressDeadline(d) || c == nil || deploymentComplete(d, s) || c.Reason == reasonProgressDeadlineExceeded {
		return 0, false
	}
	after := c.LastUpdateTime.Add(time.Duration(*d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(now)
	return max(after, 0) + time.Second, true
}

// checkPausedConditions sets Progressing Unknown with reason DeploymentPaused when d
// is paused and DeploymentResumed when it no longer is, so that a pause does not
// count against the progress deadline (a deadline already exceeded stays).
func (c *deploymentController) checkPausedConditions(ctx context.Context, d *appsv1.Deployment) error {
	if !hasProgressDeadline(d) {
		return nil
	}
	cur := deploymentCondition(d.Status, appsv1.DeploymentProgressing)
	if cur != nil && cur.Reason == reasonProgressDeadlineExceeded {
		return nil
	}
	pausedCond := cur != nil && cur.Reason == reasonDeploymentPaused
	switch {
	case d.Spec.Paused && !pausedCond:
		setDeploymentCondition(&d.Status, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown,
			reasonDeploymentPaused, "Deployment is paused", c.now()))
	case !d.Spec.Paused && pausedCond:
		setDeploymentCondition(&d.Status, newDeploymentCondition(appsv1.DeploymentProgressing, corev1.ConditionUnknown,
			reasonDeploymentResumed, "Deployment is resumed", c.now()))
	default:
		return nil
	}
	return c.writeStatus(ctx, d)
}
