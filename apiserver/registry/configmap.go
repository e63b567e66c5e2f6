package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ConfigMaps describes configmap (ConfigMap).
func ConfigMaps() *Kind {
	return &Kind{
		GroupVersion: CoreV1,
		Kind:         "ConfigMap",
		Resource:     "configmaps",
		Singular:     "configmap",
		ShortNames:   []string{"cm"},
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &corev1.ConfigMap{} },
		NewList:      func() runtime.Object { return &corev1.ConfigMapList{} },
	}
}
