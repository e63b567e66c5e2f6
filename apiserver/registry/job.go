package registry

import (
	"fmt"
	"math"
	"strconv"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Labels the Job controller selects its pods by; the unprefixed ones are legacy.
const (
	legacyJobNameLabel       = "job-name"
	legacyControllerUIDLabel = "controller-uid"
	// maxParallelismForIndexedJob caps parallelism of Indexed Jobs.
	maxParallelismForIndexedJob = 100000
)

// Jobs describes job (Job).
func Jobs() *Kind {
	return &Kind{
		GroupVersion:     BatchV1,
		Kind:             "Job",
		Resource:         "jobs",
		Singular:         "job",
		ShortNames:       nil,
		Categories:       []string{"all"},
		Namespaced:       true,
		HasStatus:        true,
		Generation:       true,
		New:              func() runtime.Object { return &batchv1.Job{} },
		NewList:          func() runtime.Object { return &batchv1.JobList{} },
		Default:          defaultJob,
		Validate:         validateJob,
		ValidateUpdate:   validateJobUpdate,
		PrepareForCreate: resetStatus(func(j *batchv1.Job) { j.Status = batchv1.JobStatus{} }),
		Fields:           jobFields,
		Columns:          jobColumns,
		Row:              rowFunc(len(jobColumns)-1, jobRow),
	}
}

// defaultJob sets batch/v1's defaults: parallelism and completions 1 when
// both are unset (parallelism 1 alone when only completions is set),
// backoffLimit 6, completionMode NonIndexed, suspend false,
// podReplacementPolicy TerminatingOrFailed (Failed with a podFailurePolicy),
// the Job's labels from its template's when it has none, and the template's
// PodSpec defaults. Unless manualSelector is true it then generates the
// selector controller-uid=<metadata.uid> and labels the template with the
// controller UID and job name, as the Job strategy does on create; a Job
// still without labels then takes the template's, generated ones included.
func defaultJob(obj runtime.Object) {
	j, ok := as[batchv1.Job](obj)
	if !ok {
		return
	}
	s := &j.Spec
	if s.Completions == nil && s.Parallelism == nil {
		s.Completions = ptrTo(int32(1))
		s.Parallelism = ptrTo(int32(1))
	}
	if s.Parallelism == nil {
		s.Parallelism = ptrTo(int32(1))
	}
	if s.BackoffLimit == nil {
		if s.BackoffLimitPerIndex != nil {
			s.BackoffLimit = ptrTo(int32(math.MaxInt32))
		} else {
			s.BackoffLimit = ptrTo(int32(6))
		}
	}
	defaultJobLabels(j)
	if s.CompletionMode == nil {
		s.CompletionMode = ptrTo(batchv1.NonIndexedCompletion)
	}
	if s.Suspend == nil {
		s.Suspend = ptrTo(false)
	}
	if pfp := s.PodFailurePolicy; pfp != nil {
		for _, r := range pfp.Rules {
			for i := range r.OnPodConditions {
				if r.OnPodConditions[i].Status == "" {
					r.OnPodConditions[i].Status = corev1.ConditionTrue
				}
			}
		}
	}
	if s.PodReplacementPolicy == nil {
		if s.PodFailurePolicy != nil {
			s.PodReplacementPolicy = ptrTo(batchv1.Failed)
		} else {
			s.PodReplacementPolicy = ptrTo(batchv1.TerminatingOrFailed)
		}
	}
	DefaultPodSpec(&s.Template.Spec)
	if s.ManualSelector == nil || !*s.ManualSelector {
		generateJobSelector(j)
	}
	// Kubernetes defaults again each time it reads the Job back, so a Job
	// whose template had no labels ends up with the generated ones.
	defaultJobLabels(j)
}

// defaultJobLabels gives a Job without labels its template's labels.
func defaultJobLabels(j *batchv1.Job) {
	if len(j.Labels) > 0 || len(j.Spec.Template.Labels) == 0 {
		return
	}
	j.Labels = make(map[string]string, len(j.Spec.Template.Labels))
	for k, v := range j.Spec.Template.Labels {
		j.Labels[k] = v
	}
}

// generateJobSelector labels the template with the Job's UID and name and
// selects the controller-uid label, leaving labels the user set alone
// (validation rejects conflicting ones).
func generateJobSelector(j *batchv1.Job) {
	t := &j.Spec.Template
	if t.Labels == nil {
		t.Labels = map[string]string{}
	}
	for _, l := range []struct{ key, value string }{
		{legacyJobNameLabel, j.Name}, {batchv1.JobNameLabel, j.Name},
		{legacyControllerUIDLabel, string(j.UID)}, {batchv1.ControllerUidLabel, string(j.UID)},
	} {
		if _, ok := t.Labels[l.key]; !ok {
			t.Labels[l.key] = l.value
		}
	}
	if j.Spec.Selector == nil {
		j.Spec.Selector = &metav1.LabelSelector{}
	}
	if j.Spec.Selector.MatchLabels == nil {
		j.Spec.Selector.MatchLabels = map[string]string{}
	}
	if _, ok := j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel]; !ok {
		j.Spec.Selector.MatchLabels[batchv1.ControllerUidLabel] = string(j.UID)
	}
}

// validateJob checks a Job's spec as batch/v1 does.
func validateJob(obj runtime.Object) field.ErrorList {
	j, ok := as[batchv1.Job](obj)
	if !ok {
		return wrongType(obj, "*v1.Job")
	}
	s := &j.Spec
	p := field.NewPath("spec")
	errs := validateGeneratedSelector(j)
	for _, f := range []struct {
		v    *int32
		name string
	}{{s.Parallelism, "parallelism"}, {s.Completions, "completions"}, {s.BackoffLimit, "backoffLimit"},
		{s.TTLSecondsAfterFinished, "ttlSecondsAfterFinished"}, {s.BackoffLimitPerIndex, "backoffLimitPerIndex"}, {s.MaxFailedIndexes, "maxFailedIndexes"}} {
		if f.v != nil {
			errs = append(errs, nonNegative(int64(*f.v), p.Child(f.name))...)
		}
	}
	if s.ActiveDeadlineSeconds != nil {
		errs = append(errs, nonNegative(*s.ActiveDeadlineSeconds, p.Child("activeDeadlineSeconds"))...)
	}
	if m := s.CompletionMode; m != nil {
		switch *m {
		case batchv1.NonIndexedCompletion:
		case batchv1.IndexedCompletion:
			if s.Completions == nil {
				errs = append(errs, field.Required(p.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
			}
			if s.Parallelism != nil && *s.Parallelism > maxParallelismForIndexedJob {
				errs = append(errs, field.Invalid(p.Child("parallelism"), *s.Parallelism, fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismForIndexedJob, batchv1.IndexedCompletion)))
			}
		default:
			errs = append(errs, field.NotSupported(p.Child("completionMode"), *m, []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}))
		}
	}
	if s.Selector == nil {
		errs = append(errs, field.Required(p.Child("selector"), ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(s.Selector, metav1validation.LabelSelectorValidationOptions{}, p.Child("selector"))...)
	}
	if sel, err := metav1.LabelSelectorAsSelector(s.Selector); err == nil && !sel.Matches(labels.Set(s.Template.Labels)) {
		errs = append(errs, field.Invalid(p.Child("template", "metadata", "labels"), s.Template.Labels, selectorMismatchMsg))
	}
	tp := p.Child("template")
	errs = append(errs, ValidatePodTemplateSpec(&s.Template, tp)...)
	if rp := s.Template.Spec.RestartPolicy; rp != corev1.RestartPolicyOnFailure && rp != corev1.RestartPolicyNever {
		errs = append(errs, field.NotSupported(tp.Child("spec", "restartPolicy"), rp, []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}))
	}
	if prp := s.PodReplacementPolicy; prp != nil && *prp != batchv1.TerminatingOrFailed && *prp != batchv1.Failed {
		errs = append(errs, field.NotSupported(p.Child("podReplacementPolicy"), *prp, []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}))
	}
	return errs
}

// validateGeneratedSelector checks, unless manualSelector is true, that the
// selector and template labels are the generated ones.
func validateGeneratedSelector(j *batchv1.Job) field.ErrorList {
	if j.Spec.ManualSelector != nil && *j.Spec.ManualSelector {
		return nil
	}
	var errs field.ErrorList
	if j.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	lp := field.NewPath("spec", "template", "metadata", "labels")
	for _, l := range []struct{ key, value string }{
		{legacyControllerUIDLabel, string(j.UID)}, {legacyJobNameLabel, j.Name},
		{batchv1.ControllerUidLabel, string(j.UID)}, {batchv1.JobNameLabel, j.Name},
	} {
		v, ok := j.Spec.Template.Labels[l.key]
		switch {
		case !ok:
			errs = append(errs, field.Required(lp.Key(l.key), l.value))
		case v != l.value:
			errs = append(errs, field.Invalid(lp.Key(l.key), j.Spec.Template.Labels, l.value))
		}
	}
	want := &metav1.LabelSelector{MatchLabels: map[string]string{batchv1.ControllerUidLabel: string(j.UID)}}
	if !equality.Semantic.DeepEqual(j.Spec.Selector, want) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), j.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

// validateJobUpdate keeps the selector, template, completion mode, pod
// failure policy and (for NonIndexed Jobs) completions immutable. A
// suspended Job that never started may change its template's scheduling
// directives, labels and annotations.
func validateJobUpdate(obj, old runtime.Object) field.ErrorList {
	j, ok1 := as[batchv1.Job](obj)
	o, ok2 := as[batchv1.Job](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.Job")
	}
	p := field.NewPath("spec")
	s, os := &j.Spec, &o.Spec
	errs := validateImmutable(s.Selector, os.Selector, p.Child("selector"))
	oldTemplate := &os.Template
	if os.Suspend != nil && *os.Suspend && o.Status.StartTime == nil {
		oldTemplate = os.Template.DeepCopy()
		oldTemplate.Spec.NodeSelector = s.Template.Spec.NodeSelector
		oldTemplate.Spec.Tolerations = s.Template.Spec.Tolerations
		oldTemplate.Spec.SchedulingGates = s.Template.Spec.SchedulingGates
		oldTemplate.Spec.Affinity = s.Template.Spec.Affinity
		oldTemplate.Labels = s.Template.Labels
		oldTemplate.Annotations = s.Template.Annotations
	}
	errs = append(errs, validateImmutable(&s.Template, oldTemplate, p.Child("template"))...)
	errs = append(errs, validateImmutable(s.CompletionMode, os.CompletionMode, p.Child("completionMode"))...)
	errs = append(errs, validateImmutable(s.PodFailurePolicy, os.PodFailurePolicy, p.Child("podFailurePolicy"))...)
	errs = append(errs, validateImmutable(s.BackoffLimitPerIndex, os.BackoffLimitPerIndex, p.Child("backoffLimitPerIndex"))...)
	errs = append(errs, validateImmutable(s.ManagedBy, os.ManagedBy, p.Child("managedBy"))...)
	indexed := s.CompletionMode != nil && *s.CompletionMode == batchv1.IndexedCompletion
	switch {
	case !indexed:
		errs = append(errs, validateImmutable(s.Completions, os.Completions, p.Child("completions"))...)
	case !equality.Semantic.DeepEqual(s.Completions, os.Completions) && s.Completions != nil &&
		(s.Parallelism == nil || *s.Completions != *s.Parallelism):
		errs = append(errs, field.Invalid(p.Child("completions"), *s.Completions, "can only be modified in tandem with spec.parallelism"))
	}
	return errs
}

// jobFields adds status.successful to the selectable fields.
func jobFields(obj runtime.Object) fields.Set {
	j, ok := as[batchv1.Job](obj)
	if !ok {
		return nil
	}
	return fields.Set{"status.successful": strconv.Itoa(int(j.Status.Succeeded))}
}

// jobColumns are the columns of `kubectl get jobs`.
var jobColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Status", Type: "string", Description: "Status of the job."},
	{Name: "Completions", Type: "string", Description: batchv1.JobStatus{}.SwaggerDoc()["succeeded"]},
	{Name: "Duration", Type: "string", Description: "Time required to complete the job."},
	ageColumn,
	containersColumn,
	imagesColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: batchv1.JobSpec{}.SwaggerDoc()["selector"]},
}

// jobRow renders status (Complete, Failed, Terminating, Suspended,
// FailureTarget or Running), completions, duration, age, containers, images
// and selector.
func jobRow(j *batchv1.Job, now time.Time) []interface{} {
	var completions string
	switch par := derefInt32(j.Spec.Parallelism); {
	case j.Spec.Completions != nil:
		completions = fmt.Sprintf("%d/%d", j.Status.Succeeded, *j.Spec.Completions)
	case par > 1:
		completions = fmt.Sprintf("%d/1 of %d", j.Status.Succeeded, par)
	default:
		completions = fmt.Sprintf("%d/1", j.Status.Succeeded)
	}
	var jobDuration string
	switch {
	case j.Status.StartTime == nil:
	case j.Status.CompletionTime == nil:
		jobDuration = duration.HumanDuration(now.Sub(j.Status.StartTime.Time))
	default:
		jobDuration = duration.HumanDuration(j.Status.CompletionTime.Sub(j.Status.StartTime.Time))
	}
	var status string
	switch conds := j.Status.Conditions; {
	case hasJobCondition(conds, batchv1.JobComplete):
		status = "Complete"
	case hasJobCondition(conds, batchv1.JobFailed):
		status = "Failed"
	case j.DeletionTimestamp != nil:
		status = "Terminating"
	case hasJobCondition(conds, batchv1.JobSuspended):
		status = "Suspended"
	case hasJobCondition(conds, batchv1.JobFailureTarget):
		status = "FailureTarget"
	default:
		status = "Running"
	}
	names, images := layoutContainerCells(j.Spec.Template.Spec.Containers)
	return []interface{}{status, completions, jobDuration, translateTimestampSince(j.CreationTimestamp, now), names, images, formatSelector(j.Spec.Selector)}
}

// hasJobCondition reports whether the first condition of type t is True.
func hasJobCondition(conds []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
