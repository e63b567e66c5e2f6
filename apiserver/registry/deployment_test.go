package registry

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// webTemplate is a pod template labelled app=web.
func webTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
	}
}

// validDeployment is a Deployment that passes validation once defaulted.
func validDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: webTemplate(),
		},
	}
}

func TestDeploymentDefaults(t *testing.T) {
	got := defaulted(Deployments(), validDeployment())
	want := validDeployment()
	want.Spec.Replicas = ptrTo(int32(1))
	want.Spec.Strategy = appsv1.DeploymentStrategy{
		Type: appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptrTo(intstr.FromString("25%")),
			MaxSurge:       ptrTo(intstr.FromString("25%")),
		},
	}
	want.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	want.Spec.ProgressDeadlineSeconds = ptrTo(int32(600))
	ps := &want.Spec.Template.Spec
	ps.RestartPolicy = corev1.RestartPolicyAlways
	ps.DNSPolicy = corev1.DNSClusterFirst
	ps.TerminationGracePeriodSeconds = ptrTo(int64(30))
	ps.SchedulerName = "default-scheduler"
	ps.SecurityContext = &corev1.PodSecurityContext{}
	ps.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	ps.Containers[0].TerminationMessagePath = "/dev/termination-log"
	ps.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageReadFile
	if d := diff(want, got); d != "" {
		t.Errorf("defaulted deployment (-want +got):\n%s", d)
	}
}

func TestDeploymentValidation(t *testing.T) {
	k := Deployments()
	if errs := k.ValidateCreate(defaulted(k, validDeployment())); len(errs) != 0 {
		t.Fatalf("valid deployment: %v", errs.ToAggregate())
	}
	cases := []struct {
		name   string
		mutate func(*appsv1.Deployment)
		want   []string
	}{
		{"no selector", func(d *appsv1.Deployment) { d.Spec.Selector = nil }, []string{
			"spec.selector: Required value",
			"spec.template.metadata.labels: Invalid value",
		}},
		{"empty selector", func(d *appsv1.Deployment) { d.Spec.Selector = &metav1.LabelSelector{} }, []string{"spec.selector: Invalid value"}},
		{"selector does not match", func(d *appsv1.Deployment) { d.Spec.Selector.MatchLabels["app"] = "api" }, []string{
			"spec.template.metadata.labels: Invalid value",
		}},
		{"template image and restart policy", func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Image = ""
			d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		}, []string{
			"spec.template.spec.containers[0].image: Required value",
			"spec.template.spec.restartPolicy: Unsupported value",
		}},
		{"negative replicas", func(d *appsv1.Deployment) { d.Spec.Replicas = ptrTo(int32(-1)) }, []string{"spec.replicas: Invalid value"}},
		{"zero surge and unavailable", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromInt32(0))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("0%"))
		}, []string{"spec.strategy.rollingUpdate.maxUnavailable: Invalid value"}},
		{"bad percentages", func(d *appsv1.Deployment) {
			d.Spec.Strategy.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("lots"))
			d.Spec.Strategy.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("150%"))
		}, []string{
			"spec.strategy.rollingUpdate.maxSurge: Invalid value",
			"spec.strategy.rollingUpdate.maxUnavailable: Invalid value",
		}},
		{"recreate with rolling update", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = appsv1.RecreateDeploymentStrategyType }, []string{
			"spec.strategy.rollingUpdate: Forbidden",
		}},
		{"unknown strategy", func(d *appsv1.Deployment) { d.Spec.Strategy.Type = "BlueGreen" }, []string{"spec.strategy.type: Unsupported value"}},
		{"progress deadline", func(d *appsv1.Deployment) { d.Spec.MinReadySeconds = 600 }, []string{"spec.progressDeadlineSeconds: Invalid value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := defaulted(k, validDeployment())
			tc.mutate(d)
			checkPaths(t, k.ValidateCreate(d), tc.want...)
		})
	}
}

func TestDeploymentSelectorImmutable(t *testing.T) {
	k := Deployments()
	old := defaulted(k, validDeployment())
	scaled := deepCopy(old)
	scaled.Spec.Replicas = ptrTo(int32(3))
	checkPaths(t, k.ValidateUpdateOf(scaled, old))

	moved := deepCopy(old)
	moved.Spec.Selector.MatchLabels["tier"] = "front"
	moved.Spec.Template.Labels["tier"] = "front"
	checkPaths(t, k.ValidateUpdateOf(moved, old), "spec.selector: Invalid value")
}

func TestDeploymentRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	d := defaulted(Deployments(), validDeployment())
	d.CreationTimestamp = metav1.NewTime(now.Add(-3 * 24 * time.Hour))
	d.Spec.Replicas = ptrTo(int32(3))
	d.Status = appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}
	want := []interface{}{"2/3", int64(3), int64(2), "3d", "web", "nginx:1.27", "app=web"}
	if dd := diff(want, deploymentRow(d, now)); dd != "" {
		t.Errorf("row (-want +got):\n%s", dd)
	}
}
