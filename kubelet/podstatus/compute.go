package podstatus

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Compute returns the status of pod given what the kubelet observed. It
// starts from nothing but pod.Status's PodScheduled condition (kept when
// present), its other non-kubelet conditions, its start time and its
// conditions' transition times; a pod already Succeeded or Failed keeps its
// phase.
func Compute(pod *corev1.Pod, in Input) corev1.PodStatus {
	old := &pod.Status
	s := corev1.PodStatus{
		HostIP:            in.HostIP,
		PodIP:             in.PodIP,
		StartTime:         in.StartTime,
		QOSClass:          qosClass(&pod.Spec),
		NominatedNodeName: old.NominatedNodeName,
	}
	if s.StartTime == nil {
		s.StartTime = old.StartTime
	}
	if in.HostIP != "" {
		s.HostIPs = []corev1.HostIP{{IP: in.HostIP}}
	}
	ips := in.PodIPs
	if len(ips) == 0 && in.PodIP != "" {
		ips = []string{in.PodIP}
	}
	for _, ip := range ips {
		s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
	}
	if s.PodIP == "" && len(ips) > 0 {
		s.PodIP = ips[0]
	}
	s.InitContainerStatuses = containerStatuses(pod, pod.Spec.InitContainers, in.Init, old.InitContainerStatuses, true)
	s.ContainerStatuses = containerStatuses(pod, pod.Spec.Containers, in.Containers, old.ContainerStatuses, false)

	s.Phase = phase(&pod.Spec, s.InitContainerStatuses, s.ContainerStatuses, in.Terminal, in.InitDone)
	if old.Phase == corev1.PodSucceeded || old.Phase == corev1.PodFailed {
		s.Phase = old.Phase
	}

	for _, c := range old.Conditions {
		if !kubeletConditions[c.Type] {
			s.Conditions = append(s.Conditions, c)
		}
	}
	sandbox := s.PodIP != "" || pod.Spec.HostNetwork
	if in.SandboxReady != nil {
		sandbox = *in.SandboxReady
	}
	s.Conditions = append(s.Conditions,
		corev1.PodCondition{Type: corev1.PodReadyToStartContainers, Status: conditionStatus(sandbox)},
		initializedCondition(&pod.Spec, s.InitContainerStatuses, s.ContainerStatuses, s.Phase, in.InitDone))
	containersReady := containersReadyCondition(&pod.Spec, s.InitContainerStatuses, s.ContainerStatuses, s.Phase)
	s.Conditions = append(s.Conditions, readyCondition(&pod.Spec, s.Conditions, containersReady), containersReady)
	if sched := findCondition(old.Conditions, corev1.PodScheduled); sched != nil {
		s.Conditions = append(s.Conditions, *sched)
	} else {
		s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue})
	}

	now := metav1.NewTime(in.Now)
	for i := range s.Conditions {
		c := &s.Conditions[i]
		if !kubeletConditions[c.Type] || c.Type == corev1.PodScheduled && !c.LastTransitionTime.IsZero() {
			continue
		}
		if prev := findCondition(old.Conditions, c.Type); prev != nil && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		} else {
			c.LastTransitionTime = now
		}
	}
	return s
}
