package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestWorkerShowsOOMKilled: a container the OOM killer ends shows
// terminated with reason OOMKilled and exit code 137 under restartPolicy
// Never, and as its last state while it waits to restart under Always.
func TestWorkerShowsOOMKilled(t *testing.T) {
	uid := "0b5e2f7c-4a8d-4d7e-9a59-6b1c2d3e4f50"
	tests := []struct {
		policy corev1.RestartPolicy
		term   func(cs corev1.ContainerStatus) *corev1.ContainerStateTerminated
		phase  corev1.PodPhase
	}{
		{corev1.RestartPolicyNever, func(cs corev1.ContainerStatus) *corev1.ContainerStateTerminated { return cs.State.Terminated }, corev1.PodFailed},
		{corev1.RestartPolicyAlways, func(cs corev1.ContainerStatus) *corev1.ContainerStateTerminated {
			return cs.LastTerminationState.Terminated
		}, corev1.PodRunning},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			pod := workerPod()
			pod.Spec.Containers = pod.Spec.Containers[:1]
			pod.Spec.RestartPolicy = tt.policy
			h := newWorkerHarness(t, pod, "app:v1")
			h.sync("p")
			h.rt.oomKill(uid + "-app-0")
			h.now = h.now.Add(time.Second)
			_, p := h.sync("p")
			cs := p.Status.ContainerStatuses[0]
			term := tt.term(cs)
			if term == nil || term.Reason != "OOMKilled" || term.ExitCode != 137 {
				t.Errorf("container status %+v, want terminated OOMKilled exit 137", cs)
			}
			if p.Status.Phase != tt.phase {
				t.Errorf("phase %s, want %s", p.Status.Phase, tt.phase)
			}
		})
	}
}
