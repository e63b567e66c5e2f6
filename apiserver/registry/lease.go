package registry

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Leases describes lease (Lease).
func Leases() *Kind {
	return &Kind{
		GroupVersion: CoordinationV1,
		Kind:         "Lease",
		Resource:     "leases",
		Singular:     "lease",
		ShortNames:   nil,
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &coordinationv1.Lease{} },
		NewList:      func() runtime.Object { return &coordinationv1.LeaseList{} },
		Validate:     validateLease,
		Columns:      leaseColumns,
		Row:          rowFunc(len(leaseColumns)-1, leaseRow),
	}
}

// validateLease requires a positive leaseDurationSeconds, non-negative
// leaseTransitions, and a strategy for a preferred holder.
func validateLease(obj runtime.Object) field.ErrorList {
	l, ok := as[coordinationv1.Lease](obj)
	if !ok {
		return wrongType(obj, "*v1.Lease")
	}
	p := field.NewPath("spec")
	var errs field.ErrorList
	if d := l.Spec.LeaseDurationSeconds; d != nil && *d <= 0 {
		errs = append(errs, field.Invalid(p.Child("leaseDurationSeconds"), *d, "must be greater than 0"))
	}
	if t := l.Spec.LeaseTransitions; t != nil && *t < 0 {
		errs = append(errs, field.Invalid(p.Child("leaseTransitions"), *t, "must be greater than or equal to 0"))
	}
	if s := l.Spec.Strategy; s != nil && *s != coordinationv1.OldestEmulationVersion {
		errs = append(errs, field.NotSupported(p.Child("strategy"), *s, []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}))
	}
	if h := l.Spec.PreferredHolder; h != nil && *h != "" && (l.Spec.Strategy == nil || *l.Spec.Strategy == "") {
		errs = append(errs, field.Forbidden(p.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return errs
}

// leaseColumns are the columns of `kubectl get leases`.
var leaseColumns = []metav1.TableColumnDefinition{
	nameColumn,
	{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
	ageColumn,
}

// leaseRow renders the holder and the age.
func leaseRow(l *coordinationv1.Lease, now time.Time) []interface{} {
	holder := ""
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	return []interface{}{holder, translateTimestampSince(l.CreationTimestamp, now)}
}
