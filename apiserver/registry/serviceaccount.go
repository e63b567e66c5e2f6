package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ServiceAccounts describes serviceaccount (ServiceAccount).
func ServiceAccounts() *Kind {
	return &Kind{
		GroupVersion: CoreV1,
		Kind:         "ServiceAccount",
		Resource:     "serviceaccounts",
		Singular:     "serviceaccount",
		ShortNames:   []string{"sa"},
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &corev1.ServiceAccount{} },
		NewList:      func() runtime.Object { return &corev1.ServiceAccountList{} },
	}
}
