package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
)

// rolloutRolling takes one step of a RollingUpdate: scale the new ReplicaSet up as
// far as maxSurge allows, else scale old ones down as far as maxUnavailable allows;
// once complete, clean up old ReplicaSets. Each step is written and observed before
// the next is computed, from what the informer then shows.
func (c *deploymentController) rolloutRolling(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.allReplicaSets(ctx, d, rsList, true)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledUp, err := c.reconcileNewReplicaSet(ctx, d, newRS, all)
	if err != nil {
		return err
	}
	if scaledUp {
		return c.syncRolloutStatus(ctx, d, newRS, all)
	}
	scaledDown := false
	for _, t := range oldReplicaSetTargets(d, newRS, activeReplicaSets(oldRSs)) {
		if _, err := c.scaleReplicaSet(ctx, d, t.rs, t.replicas); err != nil {
			return err
		}
		scaledDown = true
	}
	if scaledDown {
		return c.syncRolloutStatus(ctx, d, newRS, all)
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanup(ctx, d, oldRSs); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, d, newRS, all)
}

// reconcileNewReplicaSet scales the new ReplicaSet toward replicas, within the
// surge; it reports whether it changed the size.
func (c *deploymentController) reconcileNewReplicaSet(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, all []*appsv1.ReplicaSet) (bool, error) {
	target := newReplicaSetReplicas(d, all, newRS)
	if cur := rsReplicas(newRS); cur > deploymentReplicas(d) {
		target = deploymentReplicas(d) // scaled down since: no surge needed
	}
	if target == rsReplicas(newRS) {
		return false, nil
	}
	_, err := c.scaleReplicaSet(ctx, d, newRS, target)
	return err == nil, err
}

// oldReplicaSetTargets plans how far the active old ReplicaSets may shrink now,
// oldest first, without the Deployment's available pods falling under
// replicas-maxUnavailable:
//
//  1. at most allPods - minAvailable - (unavailable pods of the new ReplicaSet) may
//     go, counting every old pod as available (the most that can be safe);
//  2. within that, old ReplicaSets first lose their unavailable pods (nothing
//     available is lost, and a broken old revision cannot block the rollout);
//  3. then available ones, as far as the available pods exceed minAvailable.
//
// Availability comes from ReplicaSet status, taken as availableLowerBound so that a
// ReplicaSet whose scale-down is still in flight is not counted twice.
func oldReplicaSetTargets(d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) []rsTarget {
	if sumReplicas(oldRSs) == 0 {
		return nil
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	minAvailable := deploymentReplicas(d) - deploymentMaxUnavailable(d)
	newUnavailable := int32(0)
	if newRS != nil {
		newUnavailable = max(0, rsReplicas(newRS)-newRS.Status.AvailableReplicas)
	}
	budget := sumReplicas(all) - minAvailable - newUnavailable
	if budget <= 0 {
		return nil
	}
	sorted := append([]*appsv1.ReplicaSet(nil), oldRSs...)
	sortByCreation(sorted)
	sizes := make([]int32, len(sorted))
	for i, rs := range sorted {
		sizes[i] = rsReplicas(rs)
	}
	for i, rs := range sorted { // 2. unavailable pods first
		if budget <= 0 {
			break
		}
		n := min(budget, sizes[i]-rs.Status.AvailableReplicas)
		if n > 0 {
			sizes[i] -= n
			budget -= n
		}
	}
	available := availableLowerBound([]*appsv1.ReplicaSet{newRS})
	for i, rs := range sorted {
		available += min(rs.Status.AvailableReplicas, sizes[i])
	}
	budget = min(budget, available-minAvailable)
	for i := range sorted { // 3. available pods, within minAvailable
		if budget <= 0 {
			break
		}
		n := min(budget, sizes[i])
		sizes[i] -= n
		budget -= n
	}
	var out []rsTarget
	for i, rs := range sorted {
		if sizes[i] != rsReplicas(rs) {
			out = append(out, rsTarget{rs: rs, replicas: sizes[i]})
		}
	}
	return out
}
