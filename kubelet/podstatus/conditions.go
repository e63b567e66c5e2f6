package podstatus

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The condition reasons the kubelet sets.
const (
	ReasonContainersNotReady       = "ContainersNotReady"
	ReasonContainersNotInitialized = "ContainersNotInitialized"
	ReasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
	ReasonPodCompleted             = "PodCompleted"
	ReasonPodFailed                = "PodFailed"
)

// kubeletConditions are the condition types the kubelet owns; the others in
// the old status are kept as they are.
var kubeletConditions = map[corev1.PodConditionType]bool{
	corev1.PodScheduled:              true,
	corev1.PodReady:                  true,
	corev1.PodInitialized:            true,
	corev1.ContainersReady:           true,
	corev1.PodReadyToStartContainers: true,
}

// initializedCondition is the kubelet's GeneratePodInitializedCondition.
func initializedCondition(spec *corev1.PodSpec, init, regular []corev1.ContainerStatus, ph corev1.PodPhase, initDone bool) corev1.PodCondition {
	var unknown, incomplete []string
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		st, ok := find(init, c.Name)
		switch {
		case !ok:
			unknown = append(unknown, c.Name)
		case isSidecar(c):
			if st.Started == nil || !*st.Started {
				incomplete = append(incomplete, c.Name)
			}
		case !st.Ready:
			incomplete = append(incomplete, c.Name)
		}
	}
	if ph == corev1.PodSucceeded && len(unknown) == 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, Reason: ReasonPodCompleted}
	}
	if initDone || anyStarted(regular) {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(incomplete) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with incomplete status: %s", incomplete))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionFalse,
			Reason: ReasonContainersNotInitialized, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
}

// anyStarted is the kubelet's HasAnyRegularContainerStarted.
func anyStarted(regular []corev1.ContainerStatus) bool {
	for _, st := range regular {
		if st.State.Running != nil || st.State.Terminated != nil || st.LastTerminationState.Terminated != nil {
			return true
		}
	}
	return false
}

// containersReadyCondition is the kubelet's GenerateContainersReadyCondition.
func containersReadyCondition(spec *corev1.PodSpec, init, regular []corev1.ContainerStatus, ph corev1.PodPhase) corev1.PodCondition {
	var unknown, unready []string
	check := func(name string, statuses []corev1.ContainerStatus) {
		st, ok := find(statuses, name)
		switch {
		case !ok:
			unknown = append(unknown, name)
		case !st.Ready:
			unready = append(unready, name)
		}
	}
	for i := range spec.InitContainers {
		if isSidecar(&spec.InitContainers[i]) {
			check(spec.InitContainers[i].Name, init)
		}
	}
	for i := range spec.Containers {
		check(spec.Containers[i].Name, regular)
	}
	if (ph == corev1.PodSucceeded && len(unknown) == 0) || ph == corev1.PodFailed {
		reason := ReasonPodCompleted
		if ph == corev1.PodFailed {
			reason = ReasonPodFailed
		}
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse, Reason: reason}
	}
	var msgs []string
	if len(unknown) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unknown status: %s", unknown))
	}
	if len(unready) > 0 {
		msgs = append(msgs, fmt.Sprintf("containers with unready status: %s", unready))
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse,
			Reason: ReasonContainersNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionTrue}
}

// readyCondition is the kubelet's GeneratePodReadyCondition: ContainersReady
// and every readiness gate's condition (looked up in conds) True.
func readyCondition(spec *corev1.PodSpec, conds []corev1.PodCondition, containersReady corev1.PodCondition) corev1.PodCondition {
	if containersReady.Status != corev1.ConditionTrue {
		return corev1.PodCondition{Type: corev1.PodReady, Status: containersReady.Status,
			Reason: containersReady.Reason, Message: containersReady.Message}
	}
	var msgs []string
	for _, rg := range spec.ReadinessGates {
		c := findCondition(conds, rg.ConditionType)
		switch {
		case c == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		case c.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), c.Status))
		}
	}
	if len(msgs) > 0 {
		return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse,
			Reason: ReasonReadinessGatesNotReady, Message: strings.Join(msgs, ", ")}
	}
	return corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
}

func findCondition(conds []corev1.PodCondition, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

func conditionStatus(b bool) corev1.ConditionStatus {
	if b {
		return corev1.ConditionTrue
	}
	return corev1.ConditionFalse
}
