package kubelet

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/kubelet/podstatus"
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
// and the plan, computed by [podstatus.Compute]; the start time is kept
// from the pod's current status (now when it has none).
func podStatus(pod *corev1.Pod, st *podState, latest map[string]record, p plan, hostIP string, now time.Time) corev1.PodStatus {
	in := podstatus.Input{
		Now:       now,
		PodIP:     st.podIP,
		HostIP:    hostIP,
		StartTime: pod.Status.StartTime,
		InitDone:  p.initDone,
		Terminal:  p.failed,
	}
	if in.StartTime == nil {
		t := metav1.NewTime(now)
		in.StartTime = &t
	}
	for i := range pod.Spec.InitContainers {
		if cs, ok := containerState(&pod.Spec.InitContainers[i], st, latest, p); ok {
			in.Init = append(in.Init, cs)
		}
	}
	for i := range pod.Spec.Containers {
		if cs, ok := containerState(&pod.Spec.Containers[i], st, latest, p); ok {
			in.Containers = append(in.Containers, cs)
		}
	}
	return podstatus.Compute(pod, in)
}

// containerState is what the worker knows of container c: its newest
// attempt's state (waiting in CrashLoopBackOff when the plan holds it
// back), the attempt before it, probes' verdicts and restart count; or,
// before it was created, why it waits. ok is false when there is nothing
// to say (Compute shows it ContainerCreating).
func containerState(c *corev1.Container, st *podState, latest map[string]record, p plan) (podstatus.ContainerState, bool) {
	cs := podstatus.ContainerState{Name: c.Name}
	r, ok := latest[c.Name]
	if !ok {
		pf := st.pulls[c.Name]
		if pf == nil {
			return cs, false
		}
		cs.State, cs.Reason, cs.Message = podstatus.Waiting, pf.reason, pf.message
		return cs, true
	}
	s := r.status
	cs.ContainerID = "containerd://" + s.ID
	cs.Image, cs.ImageID = s.Image, s.ImageID
	cs.RestartCount = int32(r.attempt)
	switch s.State {
	case runtime.StateRunning, runtime.StateUnknown:
		cs.State, cs.StartedAt = podstatus.Running, s.StartedAt
		if prev, ok := st.prev[c.Name]; ok && prev.status.State == runtime.StateExited {
			last := terminated(prev.status)
			cs.Last = &last
		}
		cp := st.probes[s.ID]
		started := cp != nil && cp.started
		cs.Started = &started
		cs.Ready = cp != nil && cp.ready
	case runtime.StateExited:
		term := terminated(s)
		if _, ok := p.backoff[c.Name]; ok {
			cs.State, cs.Reason = podstatus.Waiting, "CrashLoopBackOff"
			cs.Message = fmt.Sprintf("back-off %s restarting failed container=%s", st.exits[c.Name].wait, c.Name)
			cs.Last = &term
		} else {
			term.Name, term.RestartCount = c.Name, cs.RestartCount
			cs = term
		}
	default:
		cs.State, cs.Reason = podstatus.Waiting, podstatus.ReasonContainerCreating
	}
	return cs, true
}

// terminated is the state of the exited container s.
func terminated(s runtime.ContainerStatus) podstatus.ContainerState {
	return podstatus.ContainerState{
		State:    podstatus.Terminated,
		ExitCode: int32(s.ExitCode), Reason: s.Reason, Message: s.Message,
		StartedAt: s.StartedAt, FinishedAt: s.FinishedAt,
		Image: s.Image, ImageID: s.ImageID, ContainerID: "containerd://" + s.ID,
	}
}
