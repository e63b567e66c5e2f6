package registry

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Events describes event (Event).
func Events() *Kind {
	return &Kind{
		GroupVersion: CoreV1,
		Kind:         "Event",
		Resource:     "events",
		Singular:     "event",
		ShortNames:   []string{"ev"},
		Categories:   nil,
		Namespaced:   true,
		HasStatus:    false,
		Generation:   false,
		New:          func() runtime.Object { return &corev1.Event{} },
		NewList:      func() runtime.Object { return &corev1.EventList{} },
	}
}
