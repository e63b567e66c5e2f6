package registry

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podSpecImmutableMsg is Kubernetes' message for a forbidden pod spec change.
const podSpecImmutableMsg = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

// validatePodUpdate allows a pod's spec to change only where Kubernetes
// allows it: container and init container images, activeDeadlineSeconds
// (set or lowered), added tolerations (and tolerationSeconds of existing
// ones), removed scheduling gates, and a negative grace period raised to 1.
func validatePodUpdate(obj, old runtime.Object) field.ErrorList {
	newPod, ok := as[corev1.Pod](obj)
	if !ok {
		return wrongType(obj, "*v1.Pod")
	}
	oldPod, ok := as[corev1.Pod](old)
	if !ok {
		return wrongType(old, "*v1.Pod")
	}
	specPath := field.NewPath("spec")
	var errs field.ErrorList
	if len(newPod.Spec.Containers) != len(oldPod.Spec.Containers) {
		return field.ErrorList{field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers")}
	}
	if len(newPod.Spec.InitContainers) != len(oldPod.Spec.InitContainers) {
		return field.ErrorList{field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers")}
	}
	errs = append(errs, validateActiveDeadlineUpdate(newPod.Spec.ActiveDeadlineSeconds, oldPod.Spec.ActiveDeadlineSeconds, specPath.Child("activeDeadlineSeconds"))...)
	errs = append(errs, validateOnlyAddedTolerations(newPod.Spec.Tolerations, oldPod.Spec.Tolerations, specPath.Child("tolerations"))...)
	errs = append(errs, validateOnlyDeletedSchedulingGates(newPod.Spec.SchedulingGates, oldPod.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)
	if equality.Semantic.DeepEqual(newPod.Spec, oldPod.Spec) {
		return errs
	}

	// Copy the mutable fields from the old spec; whatever differs then is forbidden.
	munged := newPod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = oldPod.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = oldPod.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = oldPod.Spec.ActiveDeadlineSeconds
	munged.Tolerations = oldPod.Spec.Tolerations
	munged.SchedulingGates = oldPod.Spec.SchedulingGates
	if g := oldPod.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 &&
		munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = g
	}
	if !equality.Semantic.DeepEqual(*munged, oldPod.Spec) {
		msg := podSpecImmutableMsg
		if changed := changedSpecFields(munged, &oldPod.Spec); len(changed) > 0 {
			msg += "\n  changed: " + strings.Join(changed, ", ")
		}
		errs = append(errs, field.Forbidden(specPath, msg))
	}
	return errs
}

// validateActiveDeadlineUpdate allows activeDeadlineSeconds to be set or
// lowered, not raised or removed.
func validateActiveDeadlineUpdate(newV, oldV *int64, p *field.Path) field.ErrorList {
	switch {
	case newV != nil && (*newV < 0 || *newV > math.MaxInt32):
		return field.ErrorList{field.Invalid(p, *newV, validation.InclusiveRangeError(0, math.MaxInt32))}
	case newV != nil && oldV != nil && *oldV < *newV:
		return field.ErrorList{field.Invalid(p, *newV, "must be less than or equal to previous value")}
	case newV == nil && oldV != nil:
		return field.ErrorList{field.Invalid(p, newV, "must not update from a positive integer to nil value")}
	}
	return nil
}

// validateOnlyAddedTolerations requires every old toleration to remain, with
// at most its tolerationSeconds changed.
func validateOnlyAddedTolerations(newT, oldT []corev1.Toleration, p *field.Path) field.ErrorList {
	for _, o := range oldT {
		found := false
		for _, n := range newT {
			c := o
			c.TolerationSeconds = n.TolerationSeconds
			if reflect.DeepEqual(c, n) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(p, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return nil
}

// validateOnlyDeletedSchedulingGates forbids adding scheduling gates.
func validateOnlyDeletedSchedulingGates(newG, oldG []corev1.PodSchedulingGate, p *field.Path) field.ErrorList {
	old := map[string]bool{}
	for _, g := range oldG {
		old[g.Name] = true
	}
	var errs field.ErrorList
	for i, g := range newG {
		if !old[g.Name] {
			errs = append(errs, field.Forbidden(p.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", g.Name)))
		}
	}
	return errs
}

// changedSpecFields names the top-level PodSpec fields that differ, in the
// place of the object diff Kubernetes appends to its message.
func changedSpecFields(a, b *corev1.PodSpec) []string {
	var out []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := 0; i < va.NumField(); i++ {
		if !equality.Semantic.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, "spec."+jsonName(va.Type().Field(i)))
		}
	}
	return out
}
