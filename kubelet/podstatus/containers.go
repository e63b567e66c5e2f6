package podstatus

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The waiting reasons the kubelet shows for containers not created yet.
const (
	ReasonContainerCreating = "ContainerCreating"
	ReasonPodInitializing   = "PodInitializing"
)

// containerStatuses converts the observed states of containers into
// statuses in spec order. init marks init containers: a regular init
// container is ready once it completed successfully.
func containerStatuses(pod *corev1.Pod, containers []corev1.Container, states []ContainerState, previous []corev1.ContainerStatus, init bool) []corev1.ContainerStatus {
	if len(containers) == 0 {
		return nil
	}
	byName := make(map[string]*ContainerState, len(states))
	for i := range states {
		byName[states[i].Name] = &states[i]
	}
	defaultReason := ReasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		defaultReason = ReasonPodInitializing
	}
	out := make([]corev1.ContainerStatus, 0, len(containers))
	for i := range containers {
		c := &containers[i]
		cs, ok := byName[c.Name]
		if !ok {
			out = append(out, missingStatus(pod, c, previous, defaultReason))
			continue
		}
		st := corev1.ContainerStatus{
			Name:         c.Name,
			Image:        cs.Image,
			ImageID:      cs.ImageID,
			ContainerID:  cs.ContainerID,
			RestartCount: cs.RestartCount,
			State:        apiState(cs),
		}
		if st.Image == "" {
			st.Image = c.Image
		}
		if cs.Last != nil && cs.Last.State == Terminated {
			st.LastTerminationState = apiState(cs.Last)
		}
		running := st.State.Running != nil
		switch {
		case cs.Started != nil:
			st.Started = ptr(*cs.Started && running)
		default:
			st.Started = ptr(running)
		}
		switch {
		case init && !isSidecar(c):
			st.Ready = st.State.Terminated != nil && st.State.Terminated.ExitCode == 0
		default:
			st.Ready = cs.Ready && running
		}
		out = append(out, st)
	}
	return out
}

// missingStatus is the status of a container the kubelet has no state for,
// as its convertToAPIContainerStatuses: the last status when it had
// terminated; else waiting (defaultReason) keeping the restart count and
// last termination, and a container that was running but vanished shows a
// last termination "ContainerStatusUnknown" (exit 137) and, unless the pod
// is being deleted, one more restart.
func missingStatus(pod *corev1.Pod, c *corev1.Container, previous []corev1.ContainerStatus, defaultReason string) corev1.ContainerStatus {
	st := corev1.ContainerStatus{
		Name:    c.Name,
		Image:   c.Image,
		State:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: defaultReason}},
		Started: ptr(false),
	}
	old, ok := find(previous, c.Name)
	if !ok {
		return st
	}
	if old.State.Terminated != nil {
		kept := *old.DeepCopy()
		kept.Ready = false
		kept.Started = ptr(false)
		return kept
	}
	st.RestartCount = old.RestartCount
	st.LastTerminationState = *old.LastTerminationState.DeepCopy()
	if old.State.Running != nil && st.LastTerminationState.Terminated == nil {
		st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			Reason:   "ContainerStatusUnknown",
			Message:  "The container could not be located when the pod was deleted.  The container used to be Running",
			ExitCode: 137,
		}
		if pod.DeletionTimestamp == nil {
			st.RestartCount++
		}
	}
	return st
}

// apiState converts one observed state.
func apiState(cs *ContainerState) corev1.ContainerState {
	switch cs.State {
	case Running:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: apiTime(cs.StartedAt)}}
	case Terminated:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:    cs.ExitCode,
			Reason:      cs.Reason,
			Message:     cs.Message,
			StartedAt:   apiTime(cs.StartedAt),
			FinishedAt:  apiTime(cs.FinishedAt),
			ContainerID: cs.ContainerID,
		}}
	default:
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: cs.Reason, Message: cs.Message}}
	}
}

func apiTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t)
}

func ptr[T any](v T) *T { return &v }
