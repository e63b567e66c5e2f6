package controllers

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// daemonSetStatus counts, over the nodes that should run the DaemonSet, those that
// do (currentNumberScheduled) and whose oldest pod is ready, available and of the
// current template; and the nodes running it that should not (misscheduled).
func daemonSetStatus(ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) appsv1.DaemonSetStatus {
	st := appsv1.DaemonSetStatus{
		ObservedGeneration: ds.Generation,
		CollisionCount:     ds.Status.CollisionCount,
		Conditions:         ds.Status.Conditions,
	}
	for _, n := range nodes {
		run, _ := daemonShouldRun(n, ds)
		pods := byNode[n.Name]
		if !run {
			if len(pods) > 0 {
				st.NumberMisscheduled++
			}
			continue
		}
		st.DesiredNumberScheduled++
		if len(pods) == 0 {
			continue
		}
		st.CurrentNumberScheduled++
		p := pods[0] // the oldest
		if podReady(p) {
			st.NumberReady++
			if daemonPodAvailable(p, ds.Spec.MinReadySeconds, now) {
				st.NumberAvailable++
			}
		}
		if daemonPodUpdated(p, hash) {
			st.UpdatedNumberScheduled++
		}
	}
	st.NumberUnavailable = st.DesiredNumberScheduled - st.NumberAvailable
	return st
}

// updateStatus writes the DaemonSet's status when it changed, and comes back
// after minReadySeconds while ready pods are not yet available.
func (c *daemonSetController) updateStatus(ctx context.Context, key string, ds *appsv1.DaemonSet, nodes []*corev1.Node, byNode map[string][]*corev1.Pod, hash string, now time.Time) error {
	st := daemonSetStatus(ds, nodes, byNode, hash, now)
	if ds.Spec.MinReadySeconds > 0 && st.NumberReady != st.NumberAvailable {
		c.queue.addAfter(key, time.Duration(ds.Spec.MinReadySeconds)*time.Second)
	}
	if equality.Semantic.DeepEqual(st, ds.Status) {
		return nil
	}
	ds.Status = st
	if _, err := c.client.AppsV1().DaemonSets(ds.Namespace).UpdateStatus(ctx, ds, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update status of daemonset %s: %w", key, err)
	}
	return nil
}
