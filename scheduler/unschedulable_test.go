package scheduler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestUnschedulableCondition(t *testing.T) {
	then := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	now := metav1.NewTime(then.Add(time.Minute))
	const msg = "0/3 nodes are available: 3 Insufficient cpu."
	withCond := func(c corev1.PodCondition) *corev1.Pod {
		return podOf("p", "1", "1Gi", func(p *corev1.Pod) { p.Status.Conditions = []corev1.PodCondition{c} })
	}
	for _, tc := range []struct {
		name        string
		pod         *corev1.Pod
		wantChanged bool
		wantTime    metav1.Time
	}{
		{"no condition yet", podOf("p", "1", "1Gi"), true, now},
		{"the same condition: not rewritten",
			withCond(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: msg, LastTransitionTime: then}),
			false, then},
		{"another message: rewritten, same transition time",
			withCond(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/2 nodes are available: 2 Insufficient cpu.", LastTransitionTime: then}),
			true, then},
		{"was True: rewritten, transition now",
			withCond(corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: then}),
			true, now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, changed := unschedulableCondition(tc.pod, msg, now)
			if changed != tc.wantChanged || !c.LastTransitionTime.Equal(&tc.wantTime) {
				t.Errorf("changed %v, time %v; want %v, %v", changed, c.LastTransitionTime, tc.wantChanged, tc.wantTime)
			}
			if c.Status != corev1.ConditionFalse || c.Reason != "Unschedulable" || c.Message != msg {
				t.Errorf("condition %+v", c)
			}
		})
	}
}
