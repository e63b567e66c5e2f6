package podstatus

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestComputeMissingContainers covers containers the kubelet no longer
// finds: their last status decides what is shown.
func TestComputeMissingContainers(t *testing.T) {
	exitedStatus := corev1.ContainerStatus{Name: "a", Image: "img-a", RestartCount: 2, ContainerID: "containerd://1",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed"}}}
	runningStatus := corev1.ContainerStatus{Name: "a", Image: "img-a", RestartCount: 1, Ready: true,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	waitingStatus := corev1.ContainerStatus{Name: "a", Image: "img-a", RestartCount: 4,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	tests := []struct {
		name     string
		policy   corev1.RestartPolicy
		old      corev1.ContainerStatus
		deleting bool
		want     []string
	}{
		{"terminated is kept", corev1.RestartPolicyNever, exitedStatus, false, []string{"phase Succeeded",
			"PodReadyToStartContainers=False  ", "Initialized=True PodCompleted ", "Ready=False PodCompleted ",
			"ContainersReady=False PodCompleted ", "PodScheduled=True  ",
			"a terminated 0 ready=false started=false restarts=2"}},
		{"vanished while running", corev1.RestartPolicyAlways, runningStatus, false, []string{"phase Running",
			"PodReadyToStartContainers=False  ", "Initialized=True  ",
			"Ready=False ContainersNotReady containers with unready status: [a]",
			"ContainersReady=False ContainersNotReady containers with unready status: [a]", "PodScheduled=True  ",
			"a waiting ContainerCreating last 137 ready=false started=false restarts=2"}},
		{"vanished while running, pod deleting", corev1.RestartPolicyAlways, runningStatus, true, []string{"phase Running",
			"PodReadyToStartContainers=False  ", "Initialized=True  ",
			"Ready=False ContainersNotReady containers with unready status: [a]",
			"ContainersReady=False ContainersNotReady containers with unready status: [a]", "PodScheduled=True  ",
			"a waiting ContainerCreating last 137 ready=false started=false restarts=1"}},
		{"waiting keeps counts", corev1.RestartPolicyAlways, waitingStatus, false, []string{"phase Running",
			"PodReadyToStartContainers=False  ", "Initialized=True  ",
			"Ready=False ContainersNotReady containers with unready status: [a]",
			"ContainersReady=False ContainersNotReady containers with unready status: [a]", "PodScheduled=True  ",
			"a waiting ContainerCreating last 1 ready=false started=false restarts=4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pod(tt.policy, nil, nil, "a")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{tt.old}
			if tt.deleting {
				p.DeletionTimestamp = &metav1.Time{}
			}
			got := summary(Compute(p, Input{}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}
