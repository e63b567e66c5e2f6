package registry

import (
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Deployments describes deployment (Deployment).
func Deployments() *Kind {
	return &Kind{
		GroupVersion:     AppsV1,
		Kind:             "Deployment",
		Resource:         "deployments",
		Singular:         "deployment",
		ShortNames:       []string{"deploy"},
		Categories:       []string{"all"},
		Namespaced:       true,
		HasStatus:        true,
		Generation:       true,
		New:              func() runtime.Object { return &appsv1.Deployment{} },
		NewList:          func() runtime.Object { return &appsv1.DeploymentList{} },
		Default:          defaultDeployment,
		Validate:         validateDeployment,
		ValidateUpdate:   validateDeploymentUpdate,
		PrepareForCreate: resetStatus(func(d *appsv1.Deployment) { d.Status = appsv1.DeploymentStatus{} }),
		Columns:          deploymentColumns,
		Row:              rowFunc(len(deploymentColumns)-1, deploymentRow),
	}
}

// defaultDeployment sets replicas 1, a RollingUpdate strategy with 25% surge
// and unavailability, revisionHistoryLimit 10, progressDeadlineSeconds 600
// and the template's PodSpec defaults.
func defaultDeployment(obj runtime.Object) {
	d, ok := as[appsv1.Deployment](obj)
	if !ok {
		return
	}
	if d.Spec.Replicas == nil {
		d.Spec.Replicas = ptrTo(int32(1))
	}
	s := &d.Spec.Strategy
	if s.Type == "" {
		s.Type = appsv1.RollingUpdateDeploymentStrategyType
	}
	if s.Type == appsv1.RollingUpdateDeploymentStrategyType {
		if s.RollingUpdate == nil {
			s.RollingUpdate = &appsv1.RollingUpdateDeployment{}
		}
		if s.RollingUpdate.MaxUnavailable == nil {
			s.RollingUpdate.MaxUnavailable = ptrTo(intstr.FromString("25%"))
		}
		if s.RollingUpdate.MaxSurge == nil {
			s.RollingUpdate.MaxSurge = ptrTo(intstr.FromString("25%"))
		}
	}
	if d.Spec.RevisionHistoryLimit == nil {
		d.Spec.RevisionHistoryLimit = ptrTo(int32(10))
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		d.Spec.ProgressDeadlineSeconds = ptrTo(int32(600))
	}
	DefaultPodSpec(&d.Spec.Template.Spec)
}

// validateDeployment checks a Deployment's spec as apps/v1 does.
func validateDeployment(obj runtime.Object) field.ErrorList {
	d, ok := as[appsv1.Deployment](obj)
	if !ok {
		return wrongType(obj, "*v1.Deployment")
	}
	spec := &d.Spec
	p := field.NewPath("spec")
	errs := nonNegative(int64(derefInt32(spec.Replicas)), p.Child("replicas"))
	sel, selErrs := validateWorkloadSelector(spec.Selector, "deployment", p.Child("selector"))
	errs = append(errs, selErrs...)
	if sel != nil {
		errs = append(errs, validateTemplateForReplicas(&spec.Template, sel, p.Child("template"))...)
		if spec.Template.Spec.ActiveDeadlineSeconds != nil {
			errs = append(errs, field.Forbidden(p.Child("template", "spec", "activeDeadlineSeconds"), "activeDeadlineSeconds in ReplicaSet is not Supported"))
		}
	}
	errs = append(errs, validateDeploymentStrategy(&spec.Strategy, p.Child("strategy"))...)
	errs = append(errs, nonNegative(int64(spec.MinReadySeconds), p.Child("minReadySeconds"))...)
	if spec.RevisionHistoryLimit != nil {
		errs = append(errs, nonNegative(int64(*spec.RevisionHistoryLimit), p.Child("revisionHistoryLimit"))...)
	}
	if pd := spec.ProgressDeadlineSeconds; pd != nil {
		errs = append(errs, nonNegative(int64(*pd), p.Child("progressDeadlineSeconds"))...)
		if *pd <= spec.MinReadySeconds {
			errs = append(errs, field.Invalid(p.Child("progressDeadlineSeconds"), *pd, "must be greater than minReadySeconds"))
		}
	}
	return errs
}

// validateDeploymentStrategy checks the strategy type and its rolling update.
func validateDeploymentStrategy(s *appsv1.DeploymentStrategy, p *field.Path) field.ErrorList {
	switch s.Type {
	case appsv1.RecreateDeploymentStrategyType:
		if s.RollingUpdate != nil {
			return field.ErrorList{field.Forbidden(p.Child("rollingUpdate"), fmt.Sprintf("may not be specified when strategy `type` is '%s'", appsv1.RecreateDeploymentStrategyType))}
		}
		return nil
	case appsv1.RollingUpdateDeploymentStrategyType:
		ru := s.RollingUpdate
		if ru == nil {
			return field.ErrorList{field.Required(p.Child("rollingUpdate"), "this should be defaulted and never be nil")}
		}
		rp := p.Child("rollingUpdate")
		errs := validatePositiveIntOrPercent(ru.MaxUnavailable, rp.Child("maxUnavailable"))
		errs = append(errs, validatePositiveIntOrPercent(ru.MaxSurge, rp.Child("maxSurge"))...)
		if intOrPercentValue(ru.MaxUnavailable) == 0 && intOrPercentValue(ru.MaxSurge) == 0 {
			errs = append(errs, field.Invalid(rp.Child("maxUnavailable"), ru.MaxUnavailable, "may not be 0 when `maxSurge` is 0"))
		}
		return append(errs, isNotMoreThan100Percent(ru.MaxUnavailable, rp.Child("maxUnavailable"))...)
	case "":
		return field.ErrorList{field.Required(p.Child("type"), "")}
	default:
		return field.ErrorList{field.NotSupported(p.Child("type"), s.Type, []appsv1.DeploymentStrategyType{appsv1.RecreateDeploymentStrategyType, appsv1.RollingUpdateDeploymentStrategyType})}
	}
}

// validateDeploymentUpdate keeps spec.selector immutable, as apps/v1 does.
func validateDeploymentUpdate(obj, old runtime.Object) field.ErrorList {
	d, ok1 := as[appsv1.Deployment](obj)
	o, ok2 := as[appsv1.Deployment](old)
	if !ok1 || !ok2 {
		return wrongType(obj, "*v1.Deployment")
	}
	return validateImmutable(d.Spec.Selector, o.Spec.Selector, field.NewPath("spec", "selector"))
}

// deploymentColumns are the columns of `kubectl get deployments`.
var deploymentColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Ready", Type: "string", Description: "Number of the pod with ready state"},
	{Name: "Up-to-date", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["updatedReplicas"]},
	{Name: "Available", Type: "string", Description: appsv1.DeploymentStatus{}.SwaggerDoc()["availableReplicas"]},
	ageColumn,
	containersColumn,
	imagesColumn,
	{Name: "Selector", Type: "string", Priority: 1, Description: appsv1.DeploymentSpec{}.SwaggerDoc()["selector"]},
}

// deploymentRow renders "ready/desired", up-to-date, available, age,
// containers, images and selector.
func deploymentRow(d *appsv1.Deployment, now time.Time) []interface{} {
	sel := "<invalid>"
	if s, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil {
		sel = s.String()
	}
	names, images := layoutContainerCells(d.Spec.Template.Spec.Containers)
	return []interface{}{
		fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, derefInt32(d.Spec.Replicas)),
		int64(d.Status.UpdatedReplicas), int64(d.Status.AvailableReplicas),
		translateTimestampSince(d.CreationTimestamp, now), names, images, sel,
	}
}

// resetStatus returns a PrepareForCreate that clears the status of a *T.
func resetStatus[T any, PT interface {
	*T
	runtime.Object
}](reset func(PT)) func(runtime.Object) {
	return func(obj runtime.Object) {
		if o, ok := as[T, PT](obj); ok {
			reset(o)
		}
	}
}
