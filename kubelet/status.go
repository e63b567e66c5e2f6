package kubelet

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// writeStatus computes the pod's status and writes it when it differs
// from what the API has.
func (k *Kubelet) writeStatus(ctx context.Context, pod *corev1.Pod, st *podState, latest map[string]record, p plan, now time.Time) {
	hostIP := ""
	if ip := k.hostIP.Load(); ip != nil {
		hostIP = *ip
	}
	status := podStatus(pod, st, latest, p, hostIP, now)
	if apiequality.Semantic.DeepEqual(pod.Status, status) {
		return
	}
	if st.lastStatus != nil && apiequality.Semantic.DeepEqual(*st.lastStatus, status) {
		// Written already; the informer has not caught up.
		return
	}
	updated := pod.DeepCopy()
	updated.Status = status
	_, err := k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		// The informer's copy is behind: write onto the current one.
		var cur *corev1.Pod
		if cur, err = k.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err == nil {
			if cur.UID != pod.UID || cur.DeletionTimestamp != nil {
				return
			}
			cur.Status = status
			_, err = k.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		if ctx.Err() == nil {
			k.log.Warn("write pod status", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		}
		st.lastStatus = nil
		return
	}
	st.lastStatus = &status
}

// podStatus is the pod's status from its containers, the worker's memory
// and the plan: phase, conditions, IPs and container statuses. Transition
// times and the start time are kept from the pod's current status.
func podStatus(pod *corev1.Pod, st *podState, latest map[string]record, p plan, hostIP string, now time.Time) corev1.PodStatus {
	old := pod.Status
	s := corev1.PodStatus{
		HostIP:    hostIP,
		PodIP:     st.podIP,
		StartTime: old.StartTime,
		QOSClass:  old.QOSClass,
	}
	if hostIP != "" {
		s.HostIPs = []corev1.HostIP{{IP: hostIP}}
	}
	if st.podIP != "" {
		s.PodIPs = []corev1.PodIP{{IP: st.podIP}}
	}
	if s.StartTime == nil {
		t := metav1.NewTime(now)
		s.StartTime = &t
	}
	for _, c := range pod.Spec.InitContainers {
		s.InitContainerStatuses = append(s.InitContainerStatuses, containerStatus(&c, st, latest, p, true))
	}
	allReady := true
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(&c, st, latest, p, false)
		allReady = allReady && cs.Ready
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
	}
	s.Phase = podPhase(pod, latest, p)
	ready := allReady && s.Phase == corev1.PodRunning
	s.Conditions = []corev1.PodCondition{
		condition(old, corev1.PodScheduled, true, "", now),
		condition(old, corev1.PodInitialized, p.initDone, "", now),
		condition(old, corev1.ContainersReady, ready, "ContainersNotReady", now),
		condition(old, corev1.PodReady, ready, "ContainersNotReady", now),
	}
	return s
}

// podPhase is Failed when an init container failed for good or every
// container exited without a restart to come and one failed; Succeeded
// when all of them exited with 0 like that; Running once every container
// was started at least once and one runs or will be restarted; else
// Pending.
func podPhase(pod *corev1.Pod, latest map[string]record, p plan) corev1.PodPhase {
	if p.failed {
		return corev1.PodFailed
	}
	if !p.initDone {
		return corev1.PodPending
	}
	allExited, anyFailed, anyRunning := true, false, false
	for _, c := range pod.Spec.Containers {
		r, ok := latest[c.Name]
		if !ok {
			return corev1.PodPending
		}
		switch r.status.State {
		case runtime.StateExited:
			if shouldRestart(pod.Spec.RestartPolicy, r.status.ExitCode) {
				allExited = false
			}
			anyFailed = anyFailed || r.status.ExitCode != 0
		case runtime.StateRunning, runtime.StateUnknown:
			anyRunning, allExited = true, false
		default:
			allExited = false
		}
	}
	switch {
	case allExited && anyFailed:
		return corev1.PodFailed
	case allExited:
		return corev1.PodSucceeded
	case anyRunning || len(p.backoff) > 0:
		return corev1.PodRunning
	}
	return corev1.PodPending
}

// condition returns a pod condition, keeping its transition time from old
// when its status did not change.
func condition(old corev1.PodStatus, t corev1.PodConditionType, ok bool, falseReason string, now time.Time) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(now)}
	if !ok {
		c.Status, c.Reason = corev1.ConditionFalse, falseReason
	}
	for _, o := range old.Conditions {
		if o.Type == t && o.Status == c.Status {
			c.LastTransitionTime = o.LastTransitionTime
		}
	}
	return c
}

// containerStatus reports one container: its newest attempt's state (or
// why it waits), the previous termination, readiness and restart count.
func containerStatus(c *corev1.Container, st *podState, latest map[string]record, p plan, init bool) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
	r, ok := latest[c.Name]
	if !ok {
		reason := "ContainerCreating"
		if init {
			reason = "PodInitializing"
		}
		w := &corev1.ContainerStateWaiting{Reason: reason}
		if pf := st.pulls[c.Name]; pf != nil {
			w.Reason, w.Message = pf.reason, pf.message
		}
		cs.State.Waiting = w
		return cs
	}
	s := r.status
	cs.ContainerID = "containerd://" + s.ID
	cs.ImageID = s.ImageID
	if s.Image != "" {
		cs.Image = s.Image
	}
	cs.RestartCount = int32(r.attempt)
	switch s.State {
	case runtime.StateRunning, runtime.StateUnknown:
		if prev, ok := st.prev[c.Name]; ok && prev.status.State == runtime.StateExited {
			ps := prev.status
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
				ExitCode: int32(ps.ExitCode), Reason: ps.Reason, Message: ps.Message, ContainerID: "containerd://" + ps.ID,
				StartedAt: metav1.NewTime(ps.StartedAt), FinishedAt: metav1.NewTime(ps.FinishedAt),
			}
		}
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(s.StartedAt)}
		cp := st.probes[s.ID]
		started := cp != nil && cp.started
		cs.Started = &started
		cs.Ready = cp != nil && cp.ready(c)
	case runtime.StateExited:
		term := &corev1.ContainerStateTerminated{
			ExitCode: int32(s.ExitCode), Reason: s.Reason, Message: s.Message,
			StartedAt: metav1.NewTime(s.StartedAt), FinishedAt: metav1.NewTime(s.FinishedAt), ContainerID: cs.ContainerID,
		}
		started := false
		cs.Started = &started
		if _, ok := p.backoff[c.Name]; ok {
			cs.State.Waiting = &corev1.ContainerStateWaiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s", restartDelay(r), c.Name),
			}
			cs.LastTerminationState.Terminated = term
		} else {
			cs.State.Terminated = term
		}
		cs.Ready = false
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	return cs
}
