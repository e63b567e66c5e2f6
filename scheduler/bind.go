package scheduler

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// bind posts the pod's binding to the node it is assumed on, in the background,
// once one of the BindWorkers slots is free. Success starts the expiry of the
// assumption and records a Scheduled event. Failure forgets the assumption and
// puts the pod in backoff, unless the pod is gone or bound elsewhere already.
func (s *Scheduler) bind(ctx context.Context, qp *queuedPod, pod *corev1.Pod, node string) {
	started := s.async(ctx, func() {
		err := s.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: node},
		}, metav1.CreateOptions{})
		if err != nil {
			s.bindFailed(ctx, qp, pod, node, err)
			return
		}
		s.cache.FinishBinding(pod.UID)
		s.queue.Done(qp)
		s.log.Debug("pod bound", "pod", podKey(pod), "node", node)
		s.recorder.Eventf(pod, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
	})
	if !started {
		s.cache.Forget(pod.UID)
	}
}

// bindFailed undoes an assumption whose binding failed.
func (s *Scheduler) bindFailed(ctx context.Context, qp *queuedPod, pod *corev1.Pod, node string, err error) {
	s.cache.Forget(pod.UID)
	switch {
	case ctx.Err() != nil:
		return // stopping
	case apierrors.IsNotFound(err), apierrors.IsConflict(err):
		// Deleted, recreated under the same name, or bound by someone else: the
		// informer will tell the queue and the cache.
		s.log.Debug("binding not needed any more", "pod", podKey(pod), "node", node, "err", err)
		s.queue.Done(qp)
		return
	}
	s.log.Warn("binding failed; retrying with backoff", "pod", podKey(pod), "node", node, "err", err)
	s.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
	s.queue.Backoff(qp)
}
