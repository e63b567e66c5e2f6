package registry

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// selectorMismatchMsg is Kubernetes' message for a template its selector misses.
const selectorMismatchMsg = "`selector` does not match template `labels`"

// validateWorkloadSelector checks a Deployment's or ReplicaSet's selector:
// required, valid and not empty. what names the kind in the message, as
// Kubernetes words it. It returns the parsed selector, or nil when the
// selector cannot be parsed.
func validateWorkloadSelector(s *metav1.LabelSelector, what string, p *field.Path) (labels.Selector, field.ErrorList) {
	var errs field.ErrorList
	if s == nil {
		errs = append(errs, field.Required(p, ""))
	} else {
		errs = append(errs, metav1validation.ValidateLabelSelector(s, metav1validation.LabelSelectorValidationOptions{}, p)...)
		if len(s.MatchLabels)+len(s.MatchExpressions) == 0 {
			errs = append(errs, field.Invalid(p, s, "empty selector is invalid for "+what))
		}
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return nil, append(errs, field.Invalid(p, s, "invalid label selector"))
	}
	return sel, errs
}

// validateTemplateForReplicas checks the pod template of a workload that
// keeps pods running: the selector matches its labels, it is a valid pod
// template, restartPolicy is Always and activeDeadlineSeconds is unset.
func validateTemplateForReplicas(t *corev1.PodTemplateSpec, sel labels.Selector, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if sel != nil && !sel.Empty() && !sel.Matches(labels.Set(t.Labels)) {
		errs = append(errs, field.Invalid(p.Child("metadata", "labels"), t.Labels, selectorMismatchMsg))
	}
	errs = append(errs, ValidatePodTemplateSpec(t, p)...)
	if t.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		errs = append(errs, field.NotSupported(p.Child("spec", "restartPolicy"), t.Spec.RestartPolicy, []corev1.RestartPolicy{corev1.RestartPolicyAlways}))
	}
	return errs
}

// validatePositiveIntOrPercent requires a non-negative integer or a percentage.
func validatePositiveIntOrPercent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	var errs field.ErrorList
	switch v.Type {
	case intstr.String:
		errs = append(errs, invalid(p, v, validation.IsValidPercent(v.StrVal))...)
	case intstr.Int:
		errs = append(errs, nonNegative(int64(v.IntValue()), p)...)
	default:
		errs = append(errs, field.Invalid(p, v, "must be an integer or percentage (e.g '5%')"))
	}
	return errs
}

// isNotMoreThan100Percent rejects a percentage above 100%.
func isNotMoreThan100Percent(v *intstr.IntOrString, p *field.Path) field.ErrorList {
	if pct, ok := percentValue(v); ok && pct > 100 {
		return field.ErrorList{field.Invalid(p, v, "must not be greater than 100%")}
	}
	return nil
}

// intOrPercentValue returns the number of an int or a percentage (0 for nil).
func intOrPercentValue(v *intstr.IntOrString) int {
	if v == nil {
		return 0
	}
	if pct, ok := percentValue(v); ok {
		return pct
	}
	return v.IntValue()
}

// percentValue parses "25%".
func percentValue(v *intstr.IntOrString) (int, bool) {
	if v == nil || v.Type != intstr.String {
		return 0, false
	}
	s, ok := strings.CutSuffix(v.StrVal, "%")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// validateImmutable reports a field that changed.
func validateImmutable(newV, oldV any, p *field.Path) field.ErrorList {
	return apivalidation.ValidateImmutableField(newV, oldV, p)
}
