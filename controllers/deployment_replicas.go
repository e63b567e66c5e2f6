package controllers

import (
	"fmt"
	"math"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file holds the replica arithmetic of Deployments: pure functions of the
// Deployment and its ReplicaSets as the informer shows them.

// deploymentReplicas is spec.replicas (the API server defaults it to 1).
func deploymentReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// resolveFenceposts turns maxSurge and maxUnavailable into pod counts for desired
// replicas, as Kubernetes does: a percentage of surge rounds up, one of
// unavailability rounds down, and when both come to zero unavailability is 1 (so
// a rollout can always make progress, e.g. when quota forbids surge pods).
func resolveFenceposts(maxSurge, maxUnavailable *intstr.IntOrString, desired int32) (surge, unavailable int32, err error) {
	zero := intstr.FromInt32(0)
	s, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxSurge, zero), int(desired), true)
	if err != nil {
		return 0, 0, fmt.Errorf("maxSurge: %w", err)
	}
	u, err := intstr.GetScaledValueFromIntOrPercent(intstr.ValueOrDefault(maxUnavailable, zero), int(desired), false)
	if err != nil {
		return 0, 0, fmt.Errorf("maxUnavailable: %w", err)
	}
	if s == 0 && u == 0 {
		u = 1
	}
	return int32(s), int32(u), nil
}

// deploymentMaxSurge is how many pods over replicas a rolling Deployment may run
// (0 for Recreate).
func deploymentMaxSurge(d *appsv1.Deployment) int32 {
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate == nil {
		return 0
	}
	s, _, _ := resolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, deploymentReplicas(d))
	return s // validation rejects values that do not resolve
}

// deploymentMaxUnavailable is how many of replicas a rolling Deployment may have
// unavailable (0 for Recreate), at most replicas.
func deploymentMaxUnavailable(d *appsv1.Deployment) int32 {
	replicas := deploymentReplicas(d)
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate == nil || replicas == 0 {
		return 0
	}
	_, u, _ := resolveFenceposts(d.Spec.Strategy.RollingUpdate.MaxSurge, d.Spec.Strategy.RollingUpdate.MaxUnavailable, replicas)
	return min(u, replicas)
}

// rsReplicas is a ReplicaSet's spec.replicas.
func rsReplicas(rs *appsv1.ReplicaSet) int32 {
	if rs == nil {
		return 0
	}
	return replicaSetReplicas(rs)
}

// sumReplicas adds up spec.replicas (nil ReplicaSets count 0).
func sumReplicas(list []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range list {
		n += rsReplicas(rs)
	}
	return n
}

// sumStatus adds up a status field (nil ReplicaSets count 0).
func sumStatus(list []*appsv1.ReplicaSet, field func(*appsv1.ReplicaSetStatus) int32) int32 {
	var n int32
	for _, rs := range list {
		if rs != nil {
			n += field(&rs.Status)
		}
	}
	return n
}

// podsUpperBound is the most pods (not terminating) the ReplicaSets may have right
// now: each has at most max(spec.replicas, status.replicas). A ReplicaSet just
// scaled down still has its surplus pods until its controller has marked them for
// deletion and counted again, so the surge is measured against what exists, not
// only against what was asked for.
func podsUpperBound(list []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range list {
		if rs != nil {
			n += max(rsReplicas(rs), rs.Status.Replicas)
		}
	}
	return n
}

// availableLowerBound is the fewest available pods the ReplicaSets may have right
// now: min(status.availableReplicas, spec.replicas) each. A ReplicaSet just scaled
// down may still report pods it is deleting as available; its controller deletes
// unavailable pods first, so at least min(available, replicas) stay.
func availableLowerBound(list []*appsv1.ReplicaSet) int32 {
	var n int32
	for _, rs := range list {
		if rs != nil {
			n += min(rs.Status.AvailableReplicas, rsReplicas(rs))
		}
	}
	return n
}

// activeReplicaSets are those with spec.replicas > 0.
func activeReplicaSets(list []*appsv1.ReplicaSet) []*appsv1.ReplicaSet {
	var out []*appsv1.ReplicaSet
	for _, rs := range list {
		if rs != nil && rsReplicas(rs) > 0 {
			out = append(out, rs)
		}
	}
	return out
}

// newReplicaSetReplicas is the size the new ReplicaSet may have now: for a
// RollingUpdate, as many as fit under replicas+maxSurge (counting the pods the old
// ReplicaSets still have) up to replicas; for Recreate, replicas.
func newReplicaSetReplicas(d *appsv1.Deployment, allRSs []*appsv1.ReplicaSet, newRS *appsv1.ReplicaSet) int32 {
	replicas := deploymentReplicas(d)
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return replicas
	}
	maxTotal := replicas + deploymentMaxSurge(d)
	current := podsUpperBound(allRSs)
	if current >= maxTotal {
		return rsReplicas(newRS)
	}
	return rsReplicas(newRS) + min(maxTotal-current, replicas-rsReplicas(newRS))
}

// isSaturated says whether rs runs all of d's replicas, all available, sized for
// the current replicas.
func isSaturated(d *appsv1.Deployment, rs *appsv1.ReplicaSet) bool {
	if rs == nil {
		return false
	}
	desired, ok := replicasAnnotation(rs, desiredReplicasAnnotation)
	replicas := deploymentReplicas(d)
	return ok && desired == replicas && rsReplicas(rs) == replicas && rs.Status.AvailableReplicas == replicas
}

// findActiveOrLatest returns the only active ReplicaSet, or the newest one when
// none is active, or nil when several are (they are then scaled proportionally).
func findActiveOrLatest(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) *appsv1.ReplicaSet {
	if newRS == nil && len(oldRSs) == 0 {
		return nil
	}
	active := activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS))
	switch len(active) {
	case 0:
		if newRS != nil {
			return newRS
		}
		sorted := append([]*appsv1.ReplicaSet(nil), oldRSs...)
		sortByCreation(sorted)
		return sorted[len(sorted)-1]
	case 1:
		return active[0]
	}
	return nil
}

// proportion is how many of toAdd replicas (negative: to remove) rs takes when a
// Deployment is resized mid-rollout: its share of the new size by its size against
// the max-replicas it was sized for, bounded by what is left to hand out (toAdd -
// added).
func proportion(rs *appsv1.ReplicaSet, d *appsv1.Deployment, toAdd, added int32) int32 {
	if rs == nil || rsReplicas(rs) == 0 || toAdd == 0 || toAdd == added {
		return 0
	}
	fraction := replicaSetFraction(rs, d)
	left := toAdd - added
	if toAdd > 0 {
		return min(fraction, left)
	}
	return max(fraction, left)
}

// replicaSetFraction is how much rs grows (or shrinks) for d's new size: its size
// scaled by (replicas+maxSurge) / the max-replicas annotation it was sized with.
func replicaSetFraction(rs *appsv1.ReplicaSet, d *appsv1.Deployment) int32 {
	if deploymentReplicas(d) == 0 {
		return -rsReplicas(rs)
	}
	target := deploymentReplicas(d) + deploymentMaxSurge(d)
	annotated, ok := replicasAnnotation(rs, maxReplicasAnnotation)
	if !ok || annotated <= 0 {
		// Without the annotation, the Deployment's last known size; the min/max
		// bounds of proportion keep the result within limits anyway.
		annotated = d.Status.Replicas
	}
	if annotated <= 0 {
		return 0
	}
	size := float64(rsReplicas(rs)) * float64(target) / float64(annotated)
	return int32(math.Round(size)) - rsReplicas(rs)
}
