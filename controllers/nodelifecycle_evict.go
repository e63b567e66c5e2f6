package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// defaultNodeTolerationSeconds is the tolerationSeconds the API server gives
// every pod for the not-ready and unreachable taints (as kube-apiserver's
// DefaultTolerationSeconds admission does). The controller reads such a
// toleration as "evict after Options.PodEvictionTimeout", so that option plays the
// part of kube-apiserver's --default-not-ready-toleration-seconds. A pod that sets
// exactly 300s itself is read the same way.
const defaultNodeTolerationSeconds = 300

// Reasons and messages of what the controller records on the pods it deletes.
const (
	reasonNodeControllerEviction = "NodeControllerEviction"
	reasonDeletionByTaintManager = "DeletionByTaintManager"
	messageDeletionByTaint       = "Taint manager: deleting due to NoExecute taint"
	reasonDeletionByPodGC        = "DeletionByPodGC"
	messageDeletionByPodGC       = "PodGC: node no longer exists"
)

// nodeHealthTaint says whether a taint is one the controller sets for a node's
// readiness (not-ready or unreachable).
func nodeHealthTaint(t corev1.Taint) bool {
	return t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable
}

// evictionDeadline is when a pod must leave a node carrying these taints, as
// taint-based eviction decides: the earliest, over the NoExecute taints, of the
// taint's start (since) plus how long the pod tolerates it. ok is false when the
// pod may stay for ever.
func evictionDeadline(pod *corev1.Pod, taints []corev1.Taint, timeout time.Duration, since func(corev1.Taint) time.Time) (deadline time.Time, ok bool) {
	for _, t := range taints {
		if t.Effect != corev1.TaintEffectNoExecute {
			continue
		}
		d, limited := toleratedFor(pod.Spec.Tolerations, t, timeout)
		if !limited {
			continue
		}
		if at := since(t).Add(d); !ok || at.Before(deadline) {
			deadline, ok = at, true
		}
	}
	return deadline, ok
}

// toleratedFor is how long tolerations let a pod stay on a node with the NoExecute
// taint t; limited is false when for ever. As Kubernetes: with no matching
// toleration, not at all (but a node-health taint allows timeout); with matching
// ones, the least tolerationSeconds among them, for ever if none sets it. The
// API server's default toleration of a node-health taint allows timeout.
func toleratedFor(tols []corev1.Toleration, t corev1.Taint, timeout time.Duration) (d time.Duration, limited bool) {
	matched := false
	for i := range tols {
		tol := &tols[i]
		if !tol.ToleratesTaint(&t) {
			continue
		}
		matched = true
		if tol.TolerationSeconds == nil {
			continue
		}
		secs := time.Duration(max(*tol.TolerationSeconds, 0)) * time.Second
		if nodeHealthTaint(t) && tol.Operator == corev1.TolerationOpExists && *tol.TolerationSeconds == defaultNodeTolerationSeconds {
			secs = timeout
		}
		if !limited || secs < d {
			d, limited = secs, true
		}
	}
	if !matched {
		if nodeHealthTaint(t) {
			return timeout, true
		}
		return 0, true
	}
	return d, limited
}

// evictPod deletes a pod from a node that must give it up: it marks the pod with a
// DisruptionTarget condition, records NodeControllerEviction and deletes it with
// its grace period (force, with grace 0, when the node is gone and no kubelet will
// finish the deletion).
func (c *nodeLifecycleController) evictPod(ctx context.Context, pod *corev1.Pod, nodeGone bool) error {
	reason, message := reasonDeletionByTaintManager, messageDeletionByTaint
	if nodeGone {
		reason, message = reasonDeletionByPodGC, messageDeletionByPodGC
	}
	if err := c.addDisruptionTarget(ctx, pod, reason, message); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("evict pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	c.rec.Eventf(pod, corev1.EventTypeNormal, reasonNodeControllerEviction, "Marking for deletion Pod %s from Node %s", pod.Name, pod.Spec.NodeName)
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID}}
	if nodeGone {
		zero := int64(0)
		opts.GracePeriodSeconds = &zero
	}
	err := c.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("evict pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}

// addDisruptionTarget sets the pod's DisruptionTarget condition, which tells its
// owner (and a user) why the pod goes away.
func (c *nodeLifecycleController) addDisruptionTarget(ctx context.Context, pod *corev1.Pod, reason, message string) error {
	if cond := podCondition(pod, corev1.DisruptionTarget); cond != nil && cond.Status == corev1.ConditionTrue {
		return nil
	}
	cond := corev1.PodCondition{
		Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastTransitionTime: metav1.NewTime(c.now()),
	}
	patch, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{cond}}})
	if err != nil {
		return err
	}
	_, err = c.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}

// markPodsNotReady sets the Ready condition of the node's pods False, as
// kube-controller-manager does when a node becomes unreachable: no kubelet will
// report on them, and Services must stop sending them traffic.
func (c *nodeLifecycleController) markPodsNotReady(ctx context.Context, pods []*corev1.Pod) error {
	for _, pod := range pods {
		if !podReady(pod) || pod.DeletionTimestamp != nil {
			continue
		}
		pod = pod.DeepCopy()
		now := metav1.NewTime(c.now())
		for i := range pod.Status.Conditions {
			if cond := &pod.Status.Conditions[i]; cond.Type == corev1.PodReady {
				cond.Status, cond.LastTransitionTime = corev1.ConditionFalse, now
			}
		}
		_, err := c.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("mark pod %s/%s not ready: %w", pod.Namespace, pod.Name, err)
		}
	}
	return nil
}
