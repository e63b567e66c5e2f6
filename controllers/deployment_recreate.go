package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// rolloutRecreate takes one step of a Recreate rollout: scale every old ReplicaSet
// to zero, wait until none of their pods is left (terminating ones included: the
// old and new revisions never run side by side), then create or scale up the new
// ReplicaSet; once complete, clean up old ReplicaSets.
func (c *deploymentController) rolloutRecreate(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet, pods map[types.UID][]*corev1.Pod) error {
	newRS, oldRSs, err := c.allReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	all := append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	scaledDown := false
	for _, rs := range activeReplicaSets(oldRSs) {
		if _, err := c.scaleReplicaSet(ctx, d, rs, 0); err != nil {
			return err
		}
		scaledDown = true
	}
	if scaledDown || oldPodsRunning(newRS, oldRSs, pods) {
		return c.syncRolloutStatus(ctx, d, newRS, all)
	}
	if newRS == nil {
		if newRS, oldRSs, err = c.allReplicaSets(ctx, d, rsList, true); err != nil {
			return err
		}
		all = append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS)
	}
	if _, err := c.scaleReplicaSet(ctx, d, newRS, deploymentReplicas(d)); err != nil {
		return err
	}
	if deploymentComplete(d, &d.Status) {
		if err := c.cleanup(ctx, d, oldRSs); err != nil {
			return err
		}
	}
	return c.syncRolloutStatus(ctx, d, newRS, all)
}

// oldPodsRunning says whether any pod of an old ReplicaSet may still run: one its
// status counts, or any pod of it not yet Succeeded or Failed (terminating or not).
func oldPodsRunning(newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet, pods map[types.UID][]*corev1.Pod) bool {
	if sumStatus(oldRSs, func(s *appsv1.ReplicaSetStatus) int32 { return s.Replicas }) > 0 {
		return true
	}
	for uid, list := range pods {
		if newRS != nil && uid == newRS.UID {
			continue
		}
		for _, p := range list {
			if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
				return true
			}
		}
	}
	return false
}
