package registry

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// validReplicaSet is a ReplicaSet that passes validation once defaulted.
func validReplicaSet() *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-5d8f", Namespace: "default"},
		Spec: appsv1.ReplicaSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: webTemplate(),
		},
	}
}

// validDaemonSet is a DaemonSet that passes validation once defaulted.
func validDaemonSet() *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "kube-system"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: webTemplate(),
		},
	}
}

func TestReplicaSet(t *testing.T) {
	k := ReplicaSets()
	rs := defaulted(k, validReplicaSet())
	if *rs.Spec.Replicas != 1 || rs.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("defaults: replicas %d, restartPolicy %q", *rs.Spec.Replicas, rs.Spec.Template.Spec.RestartPolicy)
	}
	checkPaths(t, k.ValidateCreate(rs))

	bad := deepCopy(rs)
	bad.Spec.Replicas = ptrTo(int32(-2))
	bad.Spec.Template.Labels = map[string]string{"app": "api"}
	bad.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo(int64(10))
	checkPaths(t, k.ValidateCreate(bad),
		"spec.replicas: Invalid value",
		"spec.template.metadata.labels: Invalid value",
		"spec.template.spec.activeDeadlineSeconds: Forbidden",
	)

	moved := deepCopy(rs)
	moved.Spec.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web"}}}}
	checkPaths(t, k.ValidateUpdateOf(moved, rs), "spec.selector: Invalid value")

	rs.Status.Replicas = 1
	if got := k.ObjectFields(rs, rs.Name, rs.Namespace)["status.replicas"]; got != "1" {
		t.Errorf("status.replicas field = %q", got)
	}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	rs.CreationTimestamp = metav1.NewTime(now.Add(-90 * time.Second))
	rs.Status.ReadyReplicas = 1
	want := []interface{}{int64(1), int64(1), int64(1), "90s", "web", "nginx:1.27", "app=web"}
	if d := diff(want, replicaSetRow(rs, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}

func TestDaemonSet(t *testing.T) {
	k := DaemonSets()
	ds := defaulted(k, validDaemonSet())
	wantStrategy := appsv1.DaemonSetUpdateStrategy{
		Type: appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{
			MaxUnavailable: ptrTo(intstr.FromInt32(1)),
			MaxSurge:       ptrTo(intstr.FromInt32(0)),
		},
	}
	if d := diff(wantStrategy, ds.Spec.UpdateStrategy); d != "" {
		t.Errorf("update strategy (-want +got):\n%s", d)
	}
	if *ds.Spec.RevisionHistoryLimit != 10 {
		t.Errorf("revisionHistoryLimit = %d", *ds.Spec.RevisionHistoryLimit)
	}
	checkPaths(t, k.ValidateCreate(ds))

	for _, tc := range []struct {
		name   string
		mutate func(*appsv1.DaemonSet)
		want   []string
	}{
		{"no selector", func(d *appsv1.DaemonSet) { d.Spec.Selector = nil }, []string{
			"spec.selector: Required value", "spec.template.metadata.labels: Invalid value"}},
		{"surge and unavailable", func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("10%"))
		}, []string{"spec.updateStrategy.rollingUpdate.maxSurge: Invalid value"}},
		{"neither surge nor unavailable", func(d *appsv1.DaemonSet) {
			d.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromInt32(0))
		}, []string{"spec.updateStrategy.rollingUpdate.maxUnavailable: Required value"}},
		{"restart policy", func(d *appsv1.DaemonSet) { d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure }, []string{
			"spec.template.spec.restartPolicy: Unsupported value"}},
		{"strategy type", func(d *appsv1.DaemonSet) { d.Spec.UpdateStrategy.Type = "Surge" }, []string{
			"spec.updateStrategy.type: Unsupported value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := deepCopy(ds)
			tc.mutate(d)
			checkPaths(t, k.ValidateCreate(d), tc.want...)
		})
	}

	moved := deepCopy(ds)
	moved.Spec.Selector.MatchLabels["x"] = "y"
	moved.Spec.Template.Labels["x"] = "y"
	checkPaths(t, k.ValidateUpdateOf(moved, ds), "spec.selector: Invalid value")

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ds.CreationTimestamp = metav1.NewTime(now.Add(-5 * time.Minute))
	ds.Spec.Template.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "linux"}
	ds.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: 2, CurrentNumberScheduled: 2, NumberReady: 1, UpdatedNumberScheduled: 2, NumberAvailable: 1}
	want := []interface{}{int64(2), int64(2), int64(1), int64(2), int64(1), "kubernetes.io/os=linux", "5m", "web", "nginx:1.27", "app=web"}
	if d := diff(want, daemonSetRow(ds, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
}

func TestReplicaSetFieldsOnly(t *testing.T) {
	rs := validReplicaSet()
	want := fields.Set{"metadata.name": "web-5d8f", "metadata.namespace": "default", "status.replicas": "0"}
	if d := diff(want, ReplicaSets().ObjectFields(rs, rs.Name, rs.Namespace)); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
}
