package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Secrets describes secret (Secret).
func Secrets() *Kind {
	return &Kind{
		GroupVersion: CoreV1,
		Kind:         "Secret",
		Resource:     "secrets",
		Singular:     "secret",
		ShortNames:   nil,
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &corev1.Secret{} },
		NewList:      func() runtime.Object { return &corev1.SecretList{} },
	}
}
