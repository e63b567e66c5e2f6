package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// reasonUnschedulablePod is the reason of the PodScheduled=False condition of a
// pod that fits on no node (corev1.PodReasonUnschedulable).
const reasonUnschedulablePod = corev1.PodReasonUnschedulable

// reportUnschedulable tells the user why a pod fits nowhere, as kube-scheduler
// does: a Warning event FailedScheduling with the message on every attempt (the
// event recorder folds repeats into a count), and the pod's PodScheduled
// condition set to False, reason Unschedulable, with the same message, written
// only when it changes.
func (s *Scheduler) reportUnschedulable(ctx context.Context, pod *corev1.Pod, msg string) {
	s.recorder.Event(pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	cond, changed := unschedulableCondition(pod, msg, metav1.Now())
	if !changed {
		s.log.Debug("pod still unschedulable", "pod", podKey(pod), "why", msg)
		return
	}
	s.log.Info("pod unschedulable", "pod", podKey(pod), "why", msg)
	s.async(ctx, func() {
		if err := s.patchCondition(ctx, pod, cond); err != nil && ctx.Err() == nil && !apierrors.IsNotFound(err) {
			s.log.Warn("could not set the PodScheduled condition", "pod", podKey(pod), "err", err)
		}
	})
}

// unschedulableCondition returns the PodScheduled condition an unschedulable pod
// should have, and whether it differs from the one it has. The transition time
// stays when the condition was False already.
func unschedulableCondition(pod *corev1.Pod, msg string, now metav1.Time) (corev1.PodCondition, bool) {
	want := corev1.PodCondition{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
		Reason: reasonUnschedulablePod, Message: msg, LastTransitionTime: now,
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		if c.Status == corev1.ConditionFalse {
			want.LastTransitionTime = c.LastTransitionTime
			if c.Reason == want.Reason && c.Message == msg {
				return want, false
			}
		}
		break
	}
	return want, true
}

// patchCondition writes one condition of a pod's status with a strategic merge
// patch, which merges conditions by type and leaves the others alone.
func (s *Scheduler) patchCondition(ctx context.Context, pod *corev1.Pod, c corev1.PodCondition) error {
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID}, // fails if the pod was replaced
		"status":   map[string]any{"conditions": []corev1.PodCondition{c}},
	})
	if err != nil {
		return fmt.Errorf("patch status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("patch status of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return nil
}
