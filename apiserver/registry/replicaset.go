package registry

import (
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ReplicaSets describes replicaset (ReplicaSet).
func ReplicaSets() *Kind {
	return &Kind{
		GroupVersion:     AppsV1,
		Kind:             "ReplicaSet",
		Resource:         "replicasets",
		Singular:         "replicaset",
		ShortNames:       []string{"rs"},
		Categories:       []string{"all"},
		Namespaced:       true,
		HasStatus:        true,
		Generation:       true,
		New:              func() runtime.Object { return &appsv1.ReplicaSet{} },
		NewList:          func() runtime.Object { return &appsv1.ReplicaSetList{} },
		Default:          defaultReplicaSet,
		Validate:         validateReplicaSet,
		ValidateUpdate:   validateReplicaSetUpdate,
		PrepareForCreate: resetStatus(func(r *appsv1.ReplicaSet) { r.Status = appsv1.ReplicaSetStatus{} }),
		Fields:           replicaSetFields,
		Columns:          replicaSetColumns,
		Row:              rowFunc(len(replicaSetColumns)-1, replicaSetRow),
	}
}

// defaultReplicaSet sets replicas 1 and the template's PodSpec defaults.
func defaultReplicaSet(obj runtime.Object) {
	rs, ok := as[appsv1.ReplicaSet](obj)
	if !ok {
		return
	}
	if rs.Spec.Replicas == nil {
		rs.Spec.Replicas = ptrTo(int32(1))
	}
	DefaultPodSpec(&rs.Spec.Template.Spec)
}

// validateReplicaSet checks a ReplicaSet's spec as apps/v1 does.
func validateReplicaSet(obj runtime.Object) field.ErrorList {
	rs, ok := as[appsv1.ReplicaSet](obj)
	if !ok {
		return wrongType(obj, "*v1.ReplicaSet")
	}
	p := field.NewPath("spec")
	errs := nonNegative(int64(derefInt32(rs.Spec.Replicas)), p.Child("replicas"))
	errs = append(errs, nonNegative(int64(rs.Spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	// Kubernetes words this message for deployments for ReplicaSets too.
	sel, selErrs := validateWorkloadSelector(rs.Spec.Selector, "deployment", p.Child("selector"))
	errs = append(errs, selErrs...)
	if sel != nil {
		errs = append(errs, validateTemplateForReplicas(&rs.Spec.Template, sel, p.Child("template"))...)
		if rs.Spec.Template.Spec.ActiveDeadlineSeconds != nil {
			errs = append(errs, field.Forbidden(p.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
		}
	}
	return errs
}

// validateReplicaSetUpdate keeps spec.selector immutable, as apps/v1 does.
func validateReplicaSetUpdate(obj, old runtime.Object) field.ErrorList {
	rs, ok1 := as[appsv1.ReplicaSet](obj)
	o, ok2 := as[appsv1.ReplicaSet](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.ReplicaSet")
	}
	return validateImmutable(rs.Spec.Selector, o.Spec.Selector, field.NewPath("spec", "selector"))
}

// replicaSetFields adds status.replicas to the selectable fields.
func replicaSetFields(obj runtime.Object) fields.Set {
	rs, ok := as[appsv1.ReplicaSet](obj)
	if !ok {
		return nil
	}
	return fields.Set{"status.replicas": strconv.Itoa(int(rs.Status.Replicas))}
}

// replicaSetColumns are the columns of `kubectl get replicasets`.
var replicaSetColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Desired", Type: "integer", Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["replicas"]},
	{Name: "Current", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["replicas"]},
	{Name: "Ready", Type: "integer", Description: appsv1.ReplicaSetStatus{}.SwaggerDoc()["readyReplicas"]},
	ageColumn,
	containersColumn,
	imagesColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.ReplicaSetSpec{}.SwaggerDoc()["selector"]},
}

// replicaSetRow renders desired, current and ready replicas, age, containers,
// images and selector.
func replicaSetRow(rs *appsv1.ReplicaSet, now time.Time) []interface{} {
	names, images := layoutContainerCells(rs.Spec.Template.Spec.Containers)
	return []interface{}{
		int64(derefInt32(rs.Spec.Replicas)), int64(rs.Status.Replicas), int64(rs.Status.ReadyReplicas),
		translateTimestampSince(rs.CreationTimestamp, now), names, images, formatSelector(rs.Spec.Selector),
	}
}
