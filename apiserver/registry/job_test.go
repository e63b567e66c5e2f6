package registry

import (
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// validJob is a Job that passes validation once defaulted (the server has
// set its UID).
func validJob() *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "default", UID: "0b1c"},
		Spec: batchv1.JobSpec{
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "migrate"}},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers:    []corev1.Container{{Name: "migrate", Image: "migrate:v3"}},
				},
			},
		},
	}
}

func TestJobDefaults(t *testing.T) {
	got := defaulted(Jobs(), validJob())
	want := validJob()
	want.Labels = map[string]string{"app": "migrate"}
	want.Spec.Parallelism = ptrTo(int32(1))
	want.Spec.Completions = ptrTo(int32(1))
	want.Spec.BackoffLimit = ptrTo(int32(6))
	want.Spec.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	want.Spec.Suspend = ptrTo(false)
	want.Spec.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
	want.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"batch.kubernetes.io/controller-uid": "0b1c"}}
	want.Spec.Template.Labels = map[string]string{
		"app":                                "migrate",
		"batch.kubernetes.io/controller-uid": "0b1c",
		"batch.kubernetes.io/job-name":       "migrate",
		"controller-uid":                     "0b1c",
		"job-name":                           "migrate",
	}
	ps := &want.Spec.Template.Spec
	ps.DNSPolicy = corev1.DNSClusterFirst
	ps.TerminationGracePeriodSeconds = ptrTo(int64(30))
	ps.SchedulerName = "default-scheduler"
	ps.SecurityContext = &corev1.PodSecurityContext{}
	ps.Containers[0].ImagePullPolicy = corev1.PullIfNotPresent
	ps.Containers[0].TerminationMessagePath = "/dev/termination-log"
	ps.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageReadFile
	if d := diff(want, got); d != "" {
		t.Errorf("defaulted job (-want +got):\n%s", d)
	}

	// A template without labels: the Job gets the generated ones.
	bare := validJob()
	bare.Spec.Template.Labels = nil
	defaulted(Jobs(), bare)
	wantLabels := map[string]string{
		"batch.kubernetes.io/controller-uid": "0b1c", "batch.kubernetes.io/job-name": "migrate",
		"controller-uid": "0b1c", "job-name": "migrate",
	}
	if d := diff(wantLabels, bare.Labels); d != "" {
		t.Errorf("job labels (-want +got):\n%s", d)
	}

	// Only parallelism set: completions stays nil.
	par := validJob()
	par.Spec.Parallelism = ptrTo(int32(3))
	defaulted(Jobs(), par)
	if par.Spec.Completions != nil || *par.Spec.Parallelism != 3 {
		t.Errorf("parallelism only: completions %v, parallelism %d", par.Spec.Completions, *par.Spec.Parallelism)
	}
	// Only completions set: parallelism 1.
	comp := validJob()
	comp.Spec.Completions = ptrTo(int32(5))
	defaulted(Jobs(), comp)
	if *comp.Spec.Completions != 5 || *comp.Spec.Parallelism != 1 {
		t.Errorf("completions only: completions %d, parallelism %d", *comp.Spec.Completions, *comp.Spec.Parallelism)
	}
}

func TestJobValidation(t *testing.T) {
	k := Jobs()
	if errs := k.ValidateCreate(defaulted(k, validJob())); len(errs) != 0 {
		t.Fatalf("valid job: %v", errs.ToAggregate())
	}
	cases := []struct {
		name   string
		before func(*batchv1.Job) // before Default
		after  func(*batchv1.Job) // after Default
		want   []string
	}{
		{name: "restart policy", after: func(j *batchv1.Job) { j.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways },
			want: []string{"spec.template.spec.restartPolicy: Unsupported value"}},
		{name: "negative counts", after: func(j *batchv1.Job) {
			j.Spec.Parallelism = ptrTo(int32(-1))
			j.Spec.Completions = ptrTo(int32(-1))
			j.Spec.BackoffLimit = ptrTo(int32(-1))
		}, want: []string{"spec.parallelism: Invalid value", "spec.completions: Invalid value", "spec.backoffLimit: Invalid value"}},
		{name: "selector without manualSelector", before: func(j *batchv1.Job) {
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "migrate"}}
		}, want: []string{"spec.selector: Invalid value"}},
		{name: "manual selector not matching", before: func(j *batchv1.Job) {
			j.Spec.ManualSelector = ptrTo(true)
			j.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}
		}, want: []string{"spec.template.metadata.labels: Invalid value"}},
		{name: "manual selector missing", before: func(j *batchv1.Job) { j.Spec.ManualSelector = ptrTo(true) },
			want: []string{"spec.selector: Required value", "spec.template.metadata.labels: Invalid value"}},
		{name: "no uid", before: func(j *batchv1.Job) { j.UID = "" }, want: []string{"metadata.uid: Required value"}},
		{name: "indexed without completions", before: func(j *batchv1.Job) {
			j.Spec.Parallelism = ptrTo(int32(2))
			j.Spec.CompletionMode = ptrTo(batchv1.IndexedCompletion)
		}, want: []string{"spec.completions: Required value"}},
		{name: "template image", after: func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "" },
			want: []string{"spec.template.spec.containers[0].image: Required value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := validJob()
			if tc.before != nil {
				tc.before(j)
			}
			defaulted(k, j)
			if tc.after != nil {
				tc.after(j)
			}
			checkPaths(t, k.ValidateCreate(j), tc.want...)
		})
	}
}

func TestJobUpdate(t *testing.T) {
	k := Jobs()
	old := defaulted(k, validJob())
	for _, tc := range []struct {
		name   string
		mutate func(*batchv1.Job)
		want   []string
	}{
		{"parallelism", func(j *batchv1.Job) { j.Spec.Parallelism = ptrTo(int32(4)) }, nil},
		{"completions", func(j *batchv1.Job) { j.Spec.Completions = ptrTo(int32(4)) }, []string{"spec.completions: Invalid value"}},
		{"template", func(j *batchv1.Job) { j.Spec.Template.Spec.Containers[0].Image = "migrate:v4" }, []string{"spec.template: Invalid value"}},
		{"selector", func(j *batchv1.Job) { j.Spec.Selector.MatchLabels["job-name"] = "migrate" }, []string{"spec.selector: Invalid value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := deepCopy(old)
			tc.mutate(j)
			checkPaths(t, k.ValidateUpdate(j, old), tc.want...)
		})
	}

	// A suspended Job that never started may change its template's scheduling directives.
	suspended := deepCopy(old)
	suspended.Spec.Suspend = ptrTo(true)
	moved := deepCopy(suspended)
	moved.Spec.Template.Spec.NodeSelector = map[string]string{"zone": "a"}
	checkPaths(t, k.ValidateUpdate(moved, suspended))
}

func TestJobRow(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	j := defaulted(Jobs(), validJob())
	j.CreationTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	start := metav1.NewTime(now.Add(-10 * time.Minute))
	done := metav1.NewTime(now.Add(-8 * time.Minute))
	j.Status = batchv1.JobStatus{Succeeded: 1, StartTime: &start, CompletionTime: &done,
		Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	want := []interface{}{"Complete", "1/1", "2m", "10m", "migrate", "migrate:v3", "batch.kubernetes.io/controller-uid=0b1c"}
	if d := diff(want, jobRow(j, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	j.Status = batchv1.JobStatus{StartTime: &start}
	j.Spec.Suspend = ptrTo(false)
	if got := jobRow(j, now)[0]; got != "Running" {
		t.Errorf("status = %v, want Running", got)
	}
	if got := Jobs().ObjectFields(j, j.Name, j.Namespace)["status.successful"]; got != "0" {
		t.Errorf("status.successful = %q", got)
	}
}
