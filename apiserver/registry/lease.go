package registry

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/runtime"
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
	}
}
