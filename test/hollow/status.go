package hollow

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podStatus is the status a kubelet would report for the pod with this outcome.
func (n *Node) podStatus(pod *corev1.Pod, out Outcome, started time.Time) corev1.PodStatus {
	st := *pod.Status.DeepCopy()
	start := metav1.NewTime(started)
	st.StartTime = &start
	st.Phase = out.Phase
	st.HostIP = n.hostIP()
	st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	if ip := n.podIP(string(pod.UID)); ip != "" {
		st.PodIP, st.PodIPs = ip, []corev1.PodIP{{IP: ip}}
	}
	finished := out.Phase == corev1.PodSucceeded || out.Phase == corev1.PodFailed
	ready := out.Phase == corev1.PodRunning && !out.NotReady
	readyReason := ""
	switch {
	case finished:
		readyReason = "PodCompleted"
	case !ready:
		readyReason = "ContainersNotReady"
	}
	setCondition(&st, corev1.PodScheduled, true, "")
	setCondition(&st, corev1.PodInitialized, true, "")
	setCondition(&st, corev1.ContainersReady, ready, readyReason)
	setCondition(&st, corev1.PodReady, ready, readyReason)

	code := out.ExitCode
	if out.Phase == corev1.PodFailed && code == 0 {
		code = 1
	}
	st.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: "hollow://" + c.Image,
			ContainerID: "hollow://" + string(pod.UID) + "/" + c.Name, Ready: ready,
		}
		if finished {
			reason := "Completed"
			if out.Phase == corev1.PodFailed {
				reason = "Error"
			}
			cs.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, StartedAt: start, FinishedAt: start}
			if prev := findContainer(pod.Status.ContainerStatuses, c.Name); prev != nil && prev.State.Terminated != nil {
				cs.State.Terminated.FinishedAt = prev.State.Terminated.FinishedAt
			} else {
				cs.State.Terminated.FinishedAt = metav1.Now()
			}
		} else {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: start}
			started := true
			cs.Started = &started
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	return st
}

func findContainer(list []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range list {
		if list[i].Name == name {
			return &list[i]
		}
	}
	return nil
}

// setCondition sets a pod condition, keeping its transition time when unchanged.
func setCondition(st *corev1.PodStatus, typ corev1.PodConditionType, ok bool, reason string) {
	status := corev1.ConditionFalse
	if ok {
		status = corev1.ConditionTrue
	}
	for i := range st.Conditions {
		c := &st.Conditions[i]
		if c.Type == typ {
			if c.Status != status {
				c.Status, c.LastTransitionTime = status, metav1.Now()
			}
			c.Reason = reason
			return
		}
	}
	st.Conditions = append(st.Conditions, corev1.PodCondition{Type: typ, Status: status, Reason: reason, LastTransitionTime: metav1.Now()})
}

// statusEqual says whether a new status would change nothing a reader looks at.
func statusEqual(a, b corev1.PodStatus) bool {
	if a.Phase != b.Phase || a.PodIP != b.PodIP || a.HostIP != b.HostIP || len(a.ContainerStatuses) != len(b.ContainerStatuses) {
		return false
	}
	for _, typ := range []corev1.PodConditionType{corev1.PodScheduled, corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if condStatus(a, typ) != condStatus(b, typ) {
			return false
		}
	}
	return true
}

func condStatus(st corev1.PodStatus, typ corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Status
		}
	}
	return ""
}
