package kubelet

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/kubelet/backoff"
)

func TestPodPhase(t *testing.T) {
	now := t0.Add(time.Hour)
	tests := []struct {
		name   string
		pod    *corev1.Pod
		latest map[string]record
		want   corev1.PodPhase
	}{
		{"nothing started", testPod(corev1.RestartPolicyAlways, nil, "a"), nil, corev1.PodPending},
		{"one of two started", testPod(corev1.RestartPolicyAlways, nil, "a", "b"), map[string]record{"a": running(0)}, corev1.PodPending},
		{"init running", testPod(corev1.RestartPolicyAlways, []string{"i"}, "a"), map[string]record{"i": running(0)}, corev1.PodPending},
		{"running", testPod(corev1.RestartPolicyAlways, nil, "a"), map[string]record{"a": running(0)}, corev1.PodRunning},
		{"crash looping", testPod(corev1.RestartPolicyAlways, nil, "a"), map[string]record{"a": exited(1, 1, now)}, corev1.PodRunning},
		{"completed under Never", testPod(corev1.RestartPolicyNever, nil, "a", "b"),
			map[string]record{"a": exited(0, 0, t0), "b": exited(0, 0, t0)}, corev1.PodSucceeded},
		{"completed under OnFailure", testPod(corev1.RestartPolicyOnFailure, nil, "a"), map[string]record{"a": exited(0, 0, t0)}, corev1.PodSucceeded},
		{"failed under Never", testPod(corev1.RestartPolicyNever, nil, "a", "b"),
			map[string]record{"a": exited(0, 0, t0), "b": exited(0, 3, t0)}, corev1.PodFailed},
		{"one still running", testPod(corev1.RestartPolicyNever, nil, "a", "b"),
			map[string]record{"a": exited(0, 1, t0), "b": running(0)}, corev1.PodRunning},
		{"init failed under Never", testPod(corev1.RestartPolicyNever, []string{"i"}, "a"), map[string]record{"i": exited(0, 1, t0)}, corev1.PodFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := podStatus(tt.pod, newPodState(), tt.latest, decide(tt.pod, tt.latest, backoff.New(backoff.Options{}), now), "", now).Phase; got != tt.want {
				t.Errorf("phase = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPodStatusWaitingReasons(t *testing.T) {
	now := t0.Add(time.Hour)
	pod := testPod(corev1.RestartPolicyAlways, nil, "pull", "crash")
	st := newPodState()
	st.podIP = "10.42.0.5"
	st.pulls["pull"] = &pullFailure{reason: "ImagePullBackOff", message: "Back-off pulling image"}
	latest := map[string]record{"crash": exited(2, 1, now.Add(-time.Second))}
	k := &Kubelet{crashBackoff: backoff.New(backoff.Options{})}
	k.noteExits(pod, st, latest)
	s := podStatus(pod, st, latest, decide(pod, latest, k.crashBackoff, now), "192.168.234.10", now)
	if w := s.ContainerStatuses[0].State.Waiting; w == nil || w.Reason != "ImagePullBackOff" || w.Message == "" {
		t.Errorf("pull container state %+v, want waiting in ImagePullBackOff", s.ContainerStatuses[0].State)
	}
	crash := s.ContainerStatuses[1]
	if w := crash.State.Waiting; w == nil || w.Reason != "CrashLoopBackOff" || crash.LastTerminationState.Terminated == nil || crash.RestartCount != 2 {
		t.Errorf("crashing container status %+v, want CrashLoopBackOff with the last termination and 2 restarts", crash)
	}
	if s.PodIP != "10.42.0.5" || s.HostIP != "192.168.234.10" || s.StartTime == nil || s.Phase != corev1.PodPending {
		t.Errorf("status IPs %q %q, start %v, phase %s", s.PodIP, s.HostIP, s.StartTime, s.Phase)
	}
}
