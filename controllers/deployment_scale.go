package controllers

import (
	"context"
	"fmt"
	"math"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// syncStatusOnly writes the status of a deleting Deployment, changing nothing else.
func (c *deploymentController) syncStatusOnly(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.allReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	return c.syncStatus(ctx, d, newRS, append(oldRSs, newRS))
}

// syncScale resizes the ReplicaSets of a paused Deployment or of one whose
// replicas changed, without rolling out; a paused one also has its old
// ReplicaSets cleaned up.
func (c *deploymentController) syncScale(ctx context.Context, d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) error {
	newRS, oldRSs, err := c.allReplicaSets(ctx, d, rsList, false)
	if err != nil {
		return err
	}
	if err := c.scale(ctx, d, newRS, oldRSs); err != nil {
		return err
	}
	if d.Spec.Paused {
		if err := c.cleanup(ctx, d, oldRSs); err != nil {
			return err
		}
	}
	return c.syncStatus(ctx, d, newRS, append(oldRSs, newRS))
}

// isScalingEvent says whether d's replicas differ from those its active
// ReplicaSets were last sized for (the desired-replicas annotation).
func isScalingEvent(d *appsv1.Deployment, rsList []*appsv1.ReplicaSet) bool {
	for _, rs := range activeReplicaSets(rsList) {
		if desired, ok := replicasAnnotation(rs, desiredReplicasAnnotation); ok && desired != deploymentReplicas(d) {
			return true
		}
	}
	return false
}

// scale resizes d's ReplicaSets to its replicas: the only active one (or the
// newest) takes them all; old ones go to zero once the new one is saturated; in the
// middle of a rolling update the difference is spread over the active ReplicaSets
// in proportion to their sizes (to stay within replicas+maxSurge without
// hastening or undoing the rollout).
func (c *deploymentController) scale(ctx context.Context, d *appsv1.Deployment, newRS *appsv1.ReplicaSet, oldRSs []*appsv1.ReplicaSet) error {
	if rs := findActiveOrLatest(newRS, oldRSs); rs != nil {
		_, err := c.scaleReplicaSet(ctx, d, rs, deploymentReplicas(d))
		return err
	}
	if isSaturated(d, newRS) {
		for _, old := range activeReplicaSets(oldRSs) {
			if _, err := c.scaleReplicaSet(ctx, d, old, 0); err != nil {
				return err
			}
		}
		return nil
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		return nil
	}
	for _, t := range proportionalSizes(d, activeReplicaSets(append(append([]*appsv1.ReplicaSet(nil), oldRSs...), newRS))) {
		if _, err := c.scaleReplicaSet(ctx, d, t.rs, t.replicas); err != nil {
			return err
		}
	}
	return nil
}

// rsTarget is a size to scale a ReplicaSet to.
type rsTarget struct {
	rs       *appsv1.ReplicaSet
	replicas int32
}

// proportionalSizes spreads the difference between replicas+maxSurge and the
// active ReplicaSets' total over them by their sizes: larger ones first, the newer
// first among equals when growing and the older first when shrinking; what
// rounding leaves over goes to the first.
func proportionalSizes(d *appsv1.Deployment, active []*appsv1.ReplicaSet) []rsTarget {
	allowed := int32(0)
	if deploymentReplicas(d) > 0 {
		allowed = deploymentReplicas(d) + deploymentMaxSurge(d)
	}
	toAdd := allowed - sumReplicas(active)
	sorted := append([]*appsv1.ReplicaSet(nil), active...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		if rsReplicas(a) != rsReplicas(b) {
			return rsReplicas(a) > rsReplicas(b)
		}
		older := a.CreationTimestamp.Before(&b.CreationTimestamp) ||
			(a.CreationTimestamp.Equal(&b.CreationTimestamp) && a.Name < b.Name)
		if toAdd > 0 {
			return !older // newer first
		}
		return older
	})
	out := make([]rsTarget, len(sorted))
	added := int32(0)
	for i, rs := range sorted {
		p := proportion(rs, d, toAdd, added)
		out[i] = rsTarget{rs: rs, replicas: rsReplicas(rs) + p}
		added += p
	}
	if len(out) > 0 && toAdd != 0 {
		out[0].replicas = max(0, out[0].replicas+toAdd-added)
	}
	return out
}

// scaleReplicaSet sets rs's replicas (and its desired/max-replicas annotations) and
// records ScalingReplicaSet when the size changed. It returns the updated
// ReplicaSet.
func (c *deploymentController) scaleReplicaSet(ctx context.Context, d *appsv1.Deployment, rs *appsv1.ReplicaSet, replicas int32) (*appsv1.ReplicaSet, error) {
	from := rsReplicas(rs)
	maxReplicas := deploymentReplicas(d) + deploymentMaxSurge(d)
	if from == replicas && !replicasAnnotationsNeedUpdate(rs, deploymentReplicas(d), maxReplicas) {
		return rs, nil
	}
	upd := rs.DeepCopy()
	upd.Spec.Replicas = &replicas
	setReplicasAnnotations(upd, deploymentReplicas(d), maxReplicas)
	out, err := c.client.AppsV1().ReplicaSets(upd.Namespace).Update(ctx, upd, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("scale replicaset %s/%s to %d: %w", rs.Namespace, rs.Name, replicas, err)
	}
	if from != replicas {
		dir := "up"
		if replicas < from {
			dir = "down"
		}
		c.rec.Eventf(d, corev1.EventTypeNormal, "ScalingReplicaSet", "Scaled %s replica set %s to %d from %d", dir, rs.Name, replicas, from)
	}
	return out, nil
}

// cleanup deletes the oldest old ReplicaSets beyond revisionHistoryLimit, among
// those scaled to zero with no pods left.
func (c *deploymentController) cleanup(ctx context.Context, d *appsv1.Deployment, oldRSs []*appsv1.ReplicaSet) error {
	if d.Spec.RevisionHistoryLimit == nil || *d.Spec.RevisionHistoryLimit == math.MaxInt32 {
		return nil
	}
	var alive []*appsv1.ReplicaSet
	for _, rs := range oldRSs {
		if rs != nil && rs.DeletionTimestamp == nil {
			alive = append(alive, rs)
		}
	}
	diff := len(alive) - int(*d.Spec.RevisionHistoryLimit)
	if diff <= 0 {
		return nil
	}
	sort.SliceStable(alive, func(i, j int) bool {
		ri, rj := revisionOf(alive[i]), revisionOf(alive[j])
		if ri != rj {
			return ri < rj
		}
		return alive[i].CreationTimestamp.Before(&alive[j].CreationTimestamp)
	})
	for _, rs := range alive[:diff] {
		if rs.Status.Replicas != 0 || rsReplicas(rs) != 0 || rs.Generation > rs.Status.ObservedGeneration {
			continue
		}
		err := c.client.AppsV1().ReplicaSets(rs.Namespace).Delete(ctx, rs.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &rs.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete old replicaset %s/%s: %w", rs.Namespace, rs.Name, err)
		}
	}
	return nil
}
